"""Reads about companies, always for one company."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from accounts.models import Role, User
from companies.models import Company
from conversations.models import Conversation
from customers.models import Customer
from inboxes.models import Inbox


@dataclass(frozen=True)
class CompanyOverview:
    company: Company
    active_users: int
    agents: int
    admins: int
    customers: int
    vip_customers: int
    inboxes: int
    active_inboxes: int
    conversations_by_status: dict[str, int]
    unread_messages: int

    @property
    def status_rows(self) -> list[tuple[str, str, int]]:
        """(value, label, count) for every status, zeros included, in workflow order."""
        return [
            (value, label, self.conversations_by_status.get(value, 0))
            for value, label in Conversation.Status.choices
        ]

    @property
    def open_conversations(self) -> int:
        return sum(self.conversations_by_status.get(s, 0) for s in Conversation.OPEN_STATUSES)


def company_overview(company: Company) -> CompanyOverview:
    """Counts for the company admin's home page: staff, customers, inboxes, conversations."""
    staff = User.objects.for_company(company).aggregate(
        active=Count("id", filter=Q(is_active=True)),
        agents=Count("id", filter=Q(is_active=True, role=Role.AGENT)),
        admins=Count("id", filter=Q(is_active=True, role=Role.COMPANY_ADMIN)),
    )
    customers = Customer.objects.for_company(company).aggregate(
        total=Count("id"), vip=Count("id", filter=Q(is_vip=True))
    )
    inboxes = Inbox.objects.for_company(company).aggregate(
        total=Count("id"), active=Count("id", filter=Q(is_active=True))
    )
    by_status = dict(
        Conversation.objects.for_company(company)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    unread = Conversation.objects.for_company(company).aggregate(n=Sum("unread_count"))["n"]
    return CompanyOverview(
        company=company,
        active_users=staff["active"],
        agents=staff["agents"],
        admins=staff["admins"],
        customers=customers["total"],
        vip_customers=customers["vip"],
        inboxes=inboxes["total"],
        active_inboxes=inboxes["active"],
        conversations_by_status=by_status,
        unread_messages=unread or 0,
    )


def staff_of(company: Company) -> QuerySet[User]:
    """The company's people, active first, then by name."""
    return User.objects.for_company(company).order_by("-is_active", "first_name", "email", "id")


def active_user_count(company: Company) -> int:
    return User.objects.for_company(company).filter(is_active=True).count()
