"""Changes to a company by its own admins (plan and limits belong to the platform's admins)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from companies.access import acting_company_id, managed_company_id, require_platform_admin
from companies.models import Company
from companies.plans import plan_limits
from inboxes.models import Inbox


def update_company_settings(
    actor: User, *, company: Company, name: str, agents_see_all_conversations: bool
) -> Company:
    """What a company's own admins set: its name, and whether agents read every conversation
    of the company (a colleague's read-only) or only their own and the unassigned queue."""
    managed_company_id(actor, company, refusal="Only this company's admins change its settings.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter the company's name."})
    if len(name) > Company._meta.get_field("name").max_length:
        raise ValidationError({"name": "Keep the name under 200 characters."})
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company.pk)
        company.name = name
        company.agents_see_all_conversations = agents_see_all_conversations
        company.save(update_fields=["name", "agents_see_all_conversations", "updated_at"])
    return company


def _check_platform_admin(actor: User) -> None:
    require_platform_admin(actor, refusal="Only platform admins manage companies.")


def _limits(plan: str, max_users: int | None, max_channels: int | None) -> tuple[int, int]:
    """The limits to store: the plan's own, unless the platform admin set others."""
    defaults = plan_limits(plan)
    return (
        defaults.max_users if max_users is None else max_users,
        defaults.max_channels if max_channels is None else max_channels,
    )


def check_limits_cover_usage(company: Company, *, max_users: int, max_channels: int) -> None:
    """A limit below what the company already uses would be broken the moment it is saved."""
    errors = {}
    users = User.objects.for_company(company).filter(is_active=True).count()
    if max_users < users:
        errors["max_users"] = (
            f"{company.name} has {users} active users. Set a user limit of at least {users}, "
            "or deactivate users first."
        )
    inboxes = Inbox.objects.for_company(company).filter(is_active=True).count()
    if max_channels < inboxes:
        errors["max_channels"] = (
            f"{company.name} has {inboxes} active inboxes. Set an inbox limit of at least "
            f"{inboxes}, or deactivate inboxes first."
        )
    if errors:
        raise ValidationError(errors)


def create_company_with_admin(
    actor: User,
    *,
    name: str,
    slug: str,
    subscription_plan: str,
    admin_email: str,
    admin_first_name: str,
    admin_last_name: str = "",
    max_users: int | None = None,
    max_channels: int | None = None,
) -> tuple[Company, User]:
    """A new tenant and its first company admin, in one transaction: both or neither. Limits
    left out come from the plan."""
    _check_platform_admin(actor)
    max_users, max_channels = _limits(subscription_plan, max_users, max_channels)
    errors = {}
    if Company.objects.filter(slug=slug).exists():
        errors["slug"] = "Another company uses this short name."
    if User.objects.filter(email__iexact=admin_email).exists():
        errors["admin_email"] = "Someone already signs in with this email."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        company = Company.objects.create(
            name=name.strip(),
            slug=slug,
            subscription_plan=subscription_plan,
            max_users=max_users,
            max_channels=max_channels,
        )
        admin = User.objects.create_user(
            admin_email.strip().lower(),
            None,
            first_name=admin_first_name.strip(),
            last_name=admin_last_name.strip(),
            role="company_admin",
            company=company,
        )
    return company, admin


def update_company_plan(
    actor: User,
    *,
    company_id: int,
    subscription_plan: str,
    max_users: int | None = None,
    max_channels: int | None = None,
) -> Company:
    """Change the plan; limits left out become the plan's. No limit below current use."""
    _check_platform_admin(actor)
    company_id = acting_company_id(actor, company_id)
    max_users, max_channels = _limits(subscription_plan, max_users, max_channels)
    with transaction.atomic():
        # the same lock staff and inbox changes take before counting against the limits
        company = Company.objects.select_for_update().get(pk=company_id)
        check_limits_cover_usage(company, max_users=max_users, max_channels=max_channels)
        company.subscription_plan = subscription_plan
        company.max_users, company.max_channels = max_users, max_channels
        company.save(update_fields=["subscription_plan", "max_users", "max_channels", "updated_at"])
    return company


def set_company_active(actor: User, *, company_id: int, is_active: bool) -> Company:
    """A deactivated company's users cannot sign in and every session of theirs ends, for good
    (a reactivation does not bring old sessions back); its webhooks refuse deliveries."""
    _check_platform_admin(actor)
    company_id = acting_company_id(actor, company_id)
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company_id)
        if company.is_active == is_active:
            return company
        company.is_active = is_active
        company.save(update_fields=["is_active", "updated_at"])
        if not is_active:
            User.objects.for_company(company).end_sessions()
    return company
