"""Staff management: every change to who works in a company, checked against the acting user.

Nobody grants super_admin here, nobody moves a user into another company, a company admin never
touches a super admin, a company stays within its user limit and keeps at least one active admin.
"""

from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Role, User
from companies.models import Company

STAFF_ROLES = (Role.AGENT, Role.COMPANY_ADMIN)


def _check_manager(actor: User, company: Company) -> None:
    if not actor.manages_company(company.pk):
        raise PermissionDenied("Only this company's admins manage its staff.")


def _check_role(role: str) -> None:
    if role not in STAFF_ROLES:
        raise ValidationError({"role": "Choose Agent or Company admin."})


def _check_user_limit(company: Company) -> None:
    active = User.objects.for_company(company).filter(is_active=True).count()
    if active >= company.max_users:
        raise ValidationError(
            f"This company has reached its {company.max_users}-user limit. "
            "Raise the limit or deactivate a user."
        )


def _staff_member(actor: User, company: Company, user_id: int) -> User:
    """A user of `company`, locked for update (DoesNotExist for anyone else, super admins too)."""
    _check_manager(actor, company)
    return User.objects.select_for_update().get(company=company, pk=user_id)


def _would_leave_no_admin(company: Company, user: User) -> bool:
    others = (
        User.objects.for_company(company)
        .filter(role=Role.COMPANY_ADMIN, is_active=True)
        .exclude(pk=user.pk)
    )
    return user.is_company_admin and user.is_active and not others.exists()


def create_staff_member(
    actor: User, *, company: Company, email: str, first_name: str, last_name: str, role: str
) -> User:
    """Add an agent or company admin to `company`; they choose their password from a link."""
    _check_manager(actor, company)
    _check_role(role)
    email = email.strip().lower()
    with transaction.atomic():
        Company.objects.select_for_update().get(pk=company.pk)  # one limit check at a time
        _check_user_limit(company)
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError({"email": "Someone already signs in with this email."})
        user = User.objects.create_user(
            email,
            None,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            role=role,
            company=company,
        )
    return user


def update_staff_member(
    actor: User,
    *,
    company: Company,
    user_id: int,
    first_name: str,
    last_name: str,
    role: str,
) -> User:
    _check_role(role)
    with transaction.atomic():
        user = _staff_member(actor, company, user_id)
        if role != Role.COMPANY_ADMIN and _would_leave_no_admin(company, user):
            raise ValidationError(
                {"role": "This is the company's last active admin. Make someone else admin first."}
            )
        user.first_name, user.last_name, user.role = first_name.strip(), last_name.strip(), role
        user.save(update_fields=["first_name", "last_name", "role", "updated_at"])
    return user


def set_staff_member_active(
    actor: User, *, company: Company, user_id: int, is_active: bool
) -> User:
    """Deactivate (their sessions end at their next request) or reactivate a staff member."""
    with transaction.atomic():
        Company.objects.select_for_update().get(pk=company.pk)
        user = _staff_member(actor, company, user_id)
        if user.is_active == is_active:
            return user
        if not is_active:
            if user.pk == actor.pk:
                raise ValidationError("You cannot deactivate yourself.")
            if _would_leave_no_admin(company, user):
                raise ValidationError(
                    "This is the company's last active admin. Make someone else admin first."
                )
        else:
            _check_user_limit(company)
        user.is_active = is_active
        user.save(update_fields=["is_active", "updated_at"])
    return user


def set_password_link(user: User, *, base_url: str) -> str:
    token = default_token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return base_url.rstrip("/") + reverse("set-password", args=[uid, token])


def send_set_password_link(actor: User, *, company: Company, user_id: int, base_url: str) -> str:
    """Email the staff member a link to choose a password; return it so the admin can share it."""
    _check_manager(actor, company)
    user = User.objects.get(company=company, pk=user_id, is_active=True)
    link = set_password_link(user, base_url=base_url)
    send_mail(
        subject=f"Your {company.name} sign-in on Service Hub",
        message=(
            f"Hello {user.get_short_name()},\n\n{actor} invited you to {company.name} on Service Hub."
            f"\nChoose your password here (the link works once):\n\n{link}\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return link
