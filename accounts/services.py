"""Staff management: every change to who works in a company, checked against the acting user.

Nobody grants super_admin here, nobody moves a user into another company, a company admin never
touches a super admin, a company stays within its user limit and keeps at least one active admin.

Every change that can lower the number of active admins, or count users against the limit, locks
the company row first and then the users it changes (always in that order, so two admins acting
on each other at the same moment wait for one another instead of both passing the check).

Sign-in links go to the person's own mailbox and are never shown to whoever sent them: an
invitation for someone who has never signed in, or a password reset that first signs the person
out of every browser and tells them who did it.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Role, User
from companies.access import managed_company_id
from companies.models import Company

STAFF_ROLES = (Role.AGENT, Role.COMPANY_ADMIN)
EMAIL_UNAVAILABLE = (
    "This email cannot be used for a new account. Check it, or use another address; "
    "the platform administrator can help."
)


def _check_manager(actor: User, company: Company) -> None:
    """NotFound outside the actor's company; PermissionDenied for its agents."""
    managed_company_id(actor, company, refusal="Only this company's admins manage its staff.")


def _lock_company(actor: User, company: Company) -> Company:
    """Lock the company row, then check the actor again as the database has them now (a
    colleague may have demoted or deactivated them a moment ago)."""
    _check_manager(actor, company)
    locked = Company.objects.select_for_update().get(pk=company.pk)
    current = User.objects.filter(pk=actor.pk).first()
    if current is None or not current.manages_company(company.pk):
        raise PermissionDenied("Only this company's admins manage its staff.")
    return locked


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


def _check_email_free(company: Company, email: str) -> None:
    """Emails sign in, so they are unique on the whole platform. An admin learns about their own
    company's people; an address used elsewhere gets the same answer whoever has it."""
    holder = User.objects.filter(email__iexact=email).first()
    if holder is None:
        return
    if holder.company_id != company.pk:
        raise ValidationError({"email": EMAIL_UNAVAILABLE})
    if holder.is_active:
        raise ValidationError({"email": f"{holder.email} already works here."})
    raise ValidationError(
        {"email": f"{holder.email} is on your staff list, deactivated. Reactivate them instead."}
    )


def _staff_member(company: Company, user_id: int) -> User:
    """A user of `company`, locked for update (DoesNotExist for anyone else, super admins too)."""
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
        company = _lock_company(actor, company)  # one limit check at a time
        _check_user_limit(company)
        _check_email_free(company, email)
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
    _check_manager(actor, company)
    _check_role(role)
    with transaction.atomic():
        company = _lock_company(actor, company)
        user = _staff_member(company, user_id)
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
    """Deactivate (every session of theirs ends, for good) or reactivate a staff member."""
    _check_manager(actor, company)
    with transaction.atomic():
        company = _lock_company(actor, company)
        user = _staff_member(company, user_id)
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
        if not is_active:
            User.objects.filter(pk=user.pk).end_sessions()
    return user


def _set_password_link(user: User, *, base_url: str) -> str:
    """A link that works once (it dies when the password changes or the person signs in) and
    for settings.PASSWORD_RESET_TIMEOUT seconds."""
    token = default_token_generator.make_token(user)
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return base_url.rstrip("/") + reverse("set-password", args=[uid, token])


def link_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def send_invitation(actor: User, *, company: Company, user_id: int, base_url: str) -> User:
    """Email a staff member who has never signed in a link to choose their password. The link
    goes only to their mailbox: whoever sends it never sees it."""
    _check_manager(actor, company)
    user = User.objects.get(company=company, pk=user_id)
    if not user.is_active:
        raise ValidationError("Reactivate this person before sending them an invitation.")
    if user.last_login is not None:
        raise ValidationError(
            f"{user.email} has signed in before. Use Reset password to sign them out and "
            "email them a link to choose a new one."
        )
    link = _set_password_link(user, base_url=base_url)
    send_mail(
        subject=f"Your {company.name} sign-in on Service Hub",
        message=(
            f"Hello {user.get_short_name()},\n\n{actor} invited you to {company.name} on Service Hub."
            f"\nChoose your password here (the link works once, for {link_days()} days):"
            f"\n\n{link}\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return user


def reset_staff_password(actor: User, *, company: Company, user_id: int, base_url: str) -> User:
    """Clear a staff member's password, sign them out of every browser, and email them (only
    them) a link to choose a new one, saying who did it."""
    _check_manager(actor, company)
    with transaction.atomic():
        company = _lock_company(actor, company)
        user = _staff_member(company, user_id)
        if user.pk == actor.pk:
            raise ValidationError(
                "You cannot reset your own password here. Sign out and use "
                "“Forgot your password?” on the sign-in page."
            )
        if not user.is_active:
            raise ValidationError("Reactivate this person before resetting their password.")
        user.set_unusable_password()
        user.save(update_fields=["password", "updated_at"])
        User.objects.filter(pk=user.pk).end_sessions()
        user.refresh_from_db()
    link = _set_password_link(user, base_url=base_url)
    send_mail(
        subject=f"Your {company.name} password was reset",
        message=(
            f"Hello {user.get_short_name()},\n\n{actor} ({actor.email}) reset your password for "
            f"{company.name} on Service Hub, so you were signed out everywhere.\n"
            f"Choose a new password here (the link works once, for {link_days()} days):"
            f"\n\n{link}\n\nIf you did not expect this, tell {actor.email} or another admin "
            "of your company.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return user


def request_password_reset(*, email: str, base_url: str) -> None:
    """ "Forgot your password?": look the address up and mail it later, in a task, so the answer
    takes as long whether or not the address has an account."""
    from accounts.tasks import send_password_reset

    send_password_reset.enqueue(email=email.strip(), base_url=base_url)


def send_password_reset_link(*, email: str, base_url: str) -> int:
    """Email a set-password link to the active account with this address, if there is one (a
    deactivated user or company gets nothing: they could not sign in anyway). Returns how many
    emails went out (0 or 1)."""
    users = User.objects.select_related("company").filter(
        Q(company__isnull=True) | Q(company__is_active=True),
        email__iexact=email.strip(),
        is_active=True,
    )
    sent = 0
    for user in users:
        link = _set_password_link(user, base_url=base_url)
        send_mail(
            subject="Choose a new Service Hub password",
            message=(
                f"Hello {user.get_short_name()},\n\nSomeone (we hope you) asked for a new "
                f"password for {user.email} on Service Hub.\nChoose one here (the link works "
                f"once, for {link_days()} days):\n\n{link}\n\nIf it was not you, ignore this "
                "email: your password stays as it is.\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        sent += 1
    return sent
