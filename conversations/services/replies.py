"""Agent replies: stored pending with the conversation update, delivered after commit."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from companies.access import acting_company_id
from conversations.models import Conversation, Message
from conversations.services.common import (
    Status,
    _locked_conversation,
    _mark_read,
    _touch,
    validate_agent_content,
)


class NewActivity(Exception):
    """A reply was refused because messages arrived after the newest one the agent had seen."""

    message = "New activity: review before sending."

    def __init__(self, new_messages: list[Message]) -> None:
        super().__init__(self.message)
        self.new_messages = new_messages


def _enqueue_delivery(message: Message) -> None:
    from conversations.tasks import deliver_message

    transaction.on_commit(
        lambda: deliver_message.enqueue(company_id=message.company_id, message_id=message.pk)
    )


def _write_agent_message(
    user: User, conversation: Conversation, text: str, now: datetime
) -> Message:
    """Store an agent's message; one for a provider is pending and queued for delivery on commit,
    a note on a conversation logged by hand (no inbox) has nothing to deliver."""
    message = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        inbox_id=conversation.inbox_id,
        content=text,
        sender_type=Message.SenderType.AGENT,
        sender_user=user,
        timestamp=now,
        is_read=True,
        delivery_status=Message.DeliveryStatus.PENDING
        if conversation.inbox_id
        else Message.DeliveryStatus.SENT,
    )
    if conversation.inbox_id:
        _enqueue_delivery(message)
    return message


def send_agent_reply(
    user: User,
    *,
    company_id: int,
    conversation_id: int,
    content: str,
    last_seen_message_id: int | None,
) -> Message:
    """Store an agent's reply as pending and queue its delivery once the transaction commits.

    Refused with NewActivity when a message newer than `last_seen_message_id` exists, so nobody
    answers a conversation they have not fully read. Replying to an unassigned conversation claims
    it; a new one moves to in-progress.
    """
    company_id = acting_company_id(user, company_id)
    text = validate_agent_content(content)
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        newer = Message.objects.filter(company_id=company_id, conversation=conversation)
        if last_seen_message_id is not None:
            newer = newer.filter(pk__gt=last_seen_message_id)
        newer = list(newer.select_related("sender_user").order_by("timestamp", "id"))
        if newer:
            raise NewActivity(newer)
        now = timezone.now()
        message = _write_agent_message(user, conversation, text, now)
        if conversation.assigned_user_id is None:
            conversation.assigned_user = user
        if conversation.status == Status.NEW:
            conversation.status = Status.IN_PROGRESS
        _mark_read(conversation)
        conversation.last_message_at = now
        conversation.save(
            update_fields=[
                "assigned_user",
                "status",
                "unread_count",
                "last_message_at",
                "updated_at",
            ]
        )
    return message


def retry_delivery(
    user: User, *, company_id: int, conversation_id: int, message_id: int
) -> Message:
    """Queue a failed agent message of the conversation again (the retry button in the chat);
    Message.DoesNotExist if it has no such message."""
    company_id = acting_company_id(user, company_id)
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("sender_user")
            .filter(conversation=conversation, sender_type=Message.SenderType.AGENT)
            .get(company_id=company_id, pk=message_id)
        )
        if message.delivery_status != Message.DeliveryStatus.FAILED:
            raise ValidationError("Only a failed message can be sent again.", code="not_failed")
        message.delivery_status = Message.DeliveryStatus.PENDING
        message.last_error = ""
        message.save(update_fields=["delivery_status", "last_error"])
        _touch(company_id, message.conversation_id)
        _enqueue_delivery(message)
    return message
