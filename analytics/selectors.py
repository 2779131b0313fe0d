"""System-wide figures for super admins."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from accounts.models import User
from companies.models import Company
from conversations.models import Conversation, Message
from inboxes.models import Inbox


@dataclass(frozen=True)
class SystemOverview:
    companies: int
    active_companies: int
    users: int
    active_users: int
    conversations: int
    open_conversations: int
    messages: int


@dataclass(frozen=True)
class CompanyUsage:
    company: Company
    users: int
    inboxes: int
    conversations: int


def system_overview() -> SystemOverview:
    companies = Company.objects.aggregate(
        total=Count("id"), active=Count("id", filter=Q(is_active=True))
    )
    users = User.objects.aggregate(total=Count("id"), active=Count("id", filter=Q(is_active=True)))
    conversations = Conversation.objects.aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status__in=Conversation.OPEN_STATUSES)),
    )
    return SystemOverview(
        companies=companies["total"],
        active_companies=companies["active"],
        users=users["total"],
        active_users=users["active"],
        conversations=conversations["total"],
        open_conversations=conversations["open"],
        messages=Message.objects.count(),
    )


def company_usage(limit: int = 50) -> list[CompanyUsage]:
    """Every company with its usage, largest first (one query per count kind, not per company)."""
    companies = list(Company.objects.order_by("name", "id")[:limit])
    ids = [c.id for c in companies]
    users = dict(
        User.objects.filter(company_id__in=ids, is_active=True)
        .values_list("company_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    inboxes = dict(
        Inbox.objects.filter(company_id__in=ids)
        .values_list("company_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    conversations = dict(
        Conversation.objects.filter(company_id__in=ids)
        .values_list("company_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        CompanyUsage(
            company=c,
            users=users.get(c.id, 0),
            inboxes=inboxes.get(c.id, 0),
            conversations=conversations.get(c.id, 0),
        )
        for c in companies
    ]


def all_companies() -> QuerySet[Company]:
    return Company.objects.order_by("name", "id")
