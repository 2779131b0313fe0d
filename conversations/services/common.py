"""What every conversation service shares: the row lock that checks who may work on a
conversation, the agent's content rules, and the poll touch."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import User
from conversations.models import MAX_AGENT_MESSAGE_LENGTH, Conversation, Message
from conversations.selectors import may_work_on, visible_conversations

Status = Conversation.Status


def validate_agent_content(content: str) -> str:
    """1 to 5000 characters, not only spaces; returned without surrounding blank lines."""
    text = content.strip("\n\r ")
    if not text.strip():
        raise ValidationError("Type a message before sending.", code="empty")
    if len(text) > MAX_AGENT_MESSAGE_LENGTH:
        raise ValidationError(
            f"Messages can be at most {MAX_AGENT_MESSAGE_LENGTH:,} characters; this one has "
            f"{len(text):,}. Shorten it and send again.",
            code="too_long",
        )
    return text


class ReadOnlyConversation(PermissionDenied):
    """An agent tried to change a colleague's conversation, which they may only read."""

    def __init__(self, conversation: Conversation) -> None:
        name = conversation.assigned_user.get_short_name() if conversation.assigned_user else ""
        super().__init__(
            f"{name} is assigned to this conversation, so it is read-only for you: "
            f"only {name} or a company admin can reply, reassign it or change its status."
        )


def _locked_conversation(user: User, company_id: int, conversation_id: int) -> Conversation:
    """The conversation, row-locked, if `user` may work on it: Conversation.DoesNotExist if they
    may not see it, ReadOnlyConversation if it is a colleague's they may only read."""
    conversation = (
        visible_conversations(user, company_id)
        .select_for_update(of=("self",))
        .select_related("customer", "inbox", "assigned_user")
        .get(pk=conversation_id)
    )
    if not may_work_on(user, conversation):
        raise ReadOnlyConversation(conversation)
    return conversation


def _mark_read(conversation: Conversation) -> None:
    Message.objects.filter(
        company_id=conversation.company_id,
        conversation=conversation,
        sender_type=Message.SenderType.CUSTOMER,
        is_read=False,
    ).update(is_read=True)
    conversation.unread_count = 0


def _touch(company_id: int, conversation_id: int) -> None:
    """Tell pollers the conversation changed."""
    Conversation.objects.filter(company_id=company_id, pk=conversation_id).update(
        updated_at=timezone.now()
    )
