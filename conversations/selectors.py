"""Reads of conversations and messages, always scoped to a company and, for agents, to what they
may work on."""

from django.db.models import Q, QuerySet

from accounts.models import User
from companies.models import Company
from conversations.models import Conversation


def visible_conversations(user: User, company: Company) -> QuerySet[Conversation]:
    """Conversations `user` may open in `company`: agents see theirs and the unassigned queue,
    admins see everything in the company."""
    conversations = Conversation.objects.for_company(company)
    if user.is_agent:
        conversations = conversations.filter(Q(assigned_user=user) | Q(assigned_user__isnull=True))
    return conversations


def recent_conversations(user: User, company: Company, limit: int = 25) -> list[Conversation]:
    """The newest conversations `user` may work on, with their customer and assignee."""
    return list(
        visible_conversations(user, company)
        .select_related("customer", "assigned_user")
        .order_by("-last_message_at", "-id")[:limit]
    )
