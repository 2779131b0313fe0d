"""Every change to conversations and messages: replies, status, assignment, read state, new
conversations. Each takes the acting user first and checks what that user may do."""

from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Role, User
from conversations.models import MAX_AGENT_MESSAGE_LENGTH, Conversation, Message
from conversations.selectors import may_work_on, visible_conversations
from customers.models import Customer
from inboxes.models import Channel, Inbox

Status = Conversation.Status


class NewActivity(Exception):
    """A reply was refused because messages arrived after the newest one the agent had seen."""

    message = "New activity: review before sending."

    def __init__(self, new_messages: list[Message]) -> None:
        super().__init__(self.message)
        self.new_messages = new_messages


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


def _mark_read(conversation: Conversation) -> None:
    Message.objects.filter(
        company_id=conversation.company_id,
        conversation=conversation,
        sender_type=Message.SenderType.CUSTOMER,
        is_read=False,
    ).update(is_read=True)
    conversation.unread_count = 0


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


def _touch(company_id: int, conversation_id: int) -> None:
    """Tell pollers the conversation changed."""
    Conversation.objects.filter(company_id=company_id, pk=conversation_id).update(
        updated_at=timezone.now()
    )


def change_status(
    user: User, *, company_id: int, conversation_id: int, status: str
) -> Conversation:
    if status not in Status.values:
        raise ValidationError("Choose one of: new, in progress, resolved, closed.", code="status")
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        conversation.status = status
        conversation.save(update_fields=["status", "updated_at"])
    return conversation


def assignable_users_q(company_id: int) -> Q:
    return Q(company_id=company_id, is_active=True, role__in=[Role.AGENT, Role.COMPANY_ADMIN])


def assign_conversation(
    user: User, *, company_id: int, conversation_id: int, assignee_id: int | None
) -> Conversation:
    """Assign to an active agent or admin of the same company, or unassign (None).

    Agents work on their own and unassigned conversations only, so they can take, hand over or
    release those, never a colleague's (those are read-only to them).
    """
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        _set_assignee(conversation, assignee_id)
    return conversation


def _set_assignee(conversation: Conversation, assignee_id: int | None) -> None:
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(
            assignable_users_q(conversation.company_id), pk=assignee_id
        ).first()
        if assignee is None:
            raise ValidationError(
                "That person is not an active agent of this company.", code="assignee"
            )
    conversation.assigned_user = assignee
    conversation.save(update_fields=["assigned_user", "updated_at"])


HANDOVER_UNDO_SECONDS = 10 * 60
_UNDO_SALT = "conversations.handover-undo"


def handover_undo_token(user: User, conversation: Conversation, *, previous_id: int | None) -> str:
    """A signed note of a handover `user` just made, which lets them undo it for a while even
    though the conversation is now a colleague's (and maybe out of their view)."""
    return signing.dumps(
        {
            "user": user.pk,
            "conversation": conversation.pk,
            "from": previous_id,
            "to": conversation.assigned_user_id,
        },
        salt=_UNDO_SALT,
    )


def undo_handover(user: User, *, company_id: int, conversation_id: int, token: str) -> Conversation:
    """Give a conversation back to whom it had before `user` handed it over, if nobody has
    changed its assignment since and the undo is recent."""
    try:
        handover = signing.loads(token, salt=_UNDO_SALT, max_age=HANDOVER_UNDO_SECONDS)
    except signing.SignatureExpired as expired:
        raise ValidationError(
            "That handover is too old to undo; ask the new assignee or an admin.", code="expired"
        ) from expired
    except signing.BadSignature as bad:
        raise ValidationError("That undo link is not valid.", code="bad_token") from bad
    if handover["user"] != user.pk or handover["conversation"] != conversation_id:
        raise ValidationError("That undo link is not valid.", code="bad_token")
    with transaction.atomic():
        conversation = (
            Conversation.objects.for_company(user.company_id)
            .filter(company_id=company_id)
            .select_for_update(of=("self",))
            .get(pk=conversation_id)
        )
        if conversation.assigned_user_id != handover["to"]:
            raise ValidationError(
                "Someone changed the assignment since, so it cannot be undone.", code="changed"
            )
        _set_assignee(conversation, handover["from"])
    return conversation


def mark_conversation_read(user: User, *, company_id: int, conversation_id: int) -> Conversation:
    """The agent has seen the customer's messages: clear the unread badge."""
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        if conversation.unread_count:
            _mark_read(conversation)
            conversation.save(update_fields=["unread_count", "updated_at"])
    return conversation


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str = ""
    phone: str = ""
    whatsapp_number: str = ""
    instagram_handle: str = ""
    facebook_id: str = ""


CHANNEL_IDENTITY = {
    Channel.EMAIL: "email",
    Channel.PHONE: "phone",
    Channel.WHATSAPP: "whatsapp_number",
    Channel.INSTAGRAM: "instagram_handle",
    Channel.FACEBOOK: "facebook_id",
}


def start_conversation(
    user: User,
    *,
    company_id: int,
    channel: str,
    customer_id: int | None = None,
    new_customer: NewCustomer | None = None,
    inbox_id: int | None = None,
    subject: str = "",
    content: str,
) -> Conversation:
    """Open a conversation with an existing or a new customer: a first email or message to send,
    or a phone call logged by hand (no inbox: the note is recorded, nothing is sent)."""
    from customers.services import create_customer

    if channel not in Channel.values:
        raise ValidationError({"channel": "Choose a channel."})
    text = validate_agent_content(content)
    with transaction.atomic():
        if new_customer is not None:
            customer = create_customer(user, company_id=company_id, **new_customer.__dict__)
        else:
            customer = Customer.objects.for_company(company_id).filter(pk=customer_id).first()
            if customer is None:
                raise ValidationError({"customer": "Choose a customer of this company."})
        inbox = None
        if inbox_id is not None:
            inbox = (
                Inbox.objects.for_company(company_id).filter(pk=inbox_id, is_active=True).first()
            )
            if inbox is None or inbox.kind != channel:
                raise ValidationError({"inbox": "Choose an active inbox of this channel."})
        identity = CHANNEL_IDENTITY[channel]
        if inbox is not None and not getattr(customer, identity):
            label = Customer._meta.get_field(identity).verbose_name
            raise ValidationError(
                {
                    "customer": f"{customer.name} has no {label}; add it to reach them on this channel."
                }
            )
        now = timezone.now()
        conversation = Conversation.objects.create(
            company_id=company_id,
            customer=customer,
            inbox=inbox,
            channel=channel,
            status=Status.IN_PROGRESS,
            assigned_user=user,
            subject=subject.strip()[:255],
            last_message_at=now,
        )
        _write_agent_message(user, conversation, text, now)
    return conversation


def record_delivery(
    *, company_id: int, message_id: int, status: str, provider_message_id: str = "", error: str = ""
) -> None:
    """Delivery outcome from the worker or a provider callback; pollers see it on their next poll."""
    updates: dict[str, object] = {"delivery_status": status}
    if provider_message_id:
        updates["provider_message_id"] = provider_message_id
    if status == Message.DeliveryStatus.FAILED:
        updates["last_error"] = error[:2000]
    with transaction.atomic():
        changed = Message.objects.filter(company_id=company_id, pk=message_id)
        if status != Message.DeliveryStatus.FAILED:
            changed = changed.exclude(delivery_status=Message.DeliveryStatus.READ)
        changed.update(**updates, delivery_attempts=F("delivery_attempts") + 1)
        conversation_id = (
            Message.objects.filter(company_id=company_id, pk=message_id)
            .values_list("conversation_id", flat=True)
            .first()
        )
        if conversation_id:
            _touch(company_id, conversation_id)
