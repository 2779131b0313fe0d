"""Agent replies: stored pending with the conversation update, delivered after commit."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from accounts.models import User
from companies.access import acting_company_id
from conversations.models import Conversation, Message, MessageAttachment

if TYPE_CHECKING:
    from customers.models import Customer
    from inboxes.models import Inbox
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


# what a file must start with to be the type it claims (a renamed .exe is not a PDF)
FILE_SIGNATURES = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}


@dataclass(frozen=True)
class ReplyAttachment:
    """A file an agent attached in the composer, checked: type, size, name."""

    file: UploadedFile
    mime_type: str
    filename: str

    @property
    def kind(self) -> str:
        return Message.Kind.IMAGE if self.mime_type.startswith("image/") else Message.Kind.DOCUMENT


def _readable_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def check_reply_attachment(upload: UploadedFile) -> ReplyAttachment:
    """The composer's file, if it is one of OUTBOUND_ATTACHMENT_TYPES (by its declared type and
    its first bytes) and at most OUTBOUND_ATTACHMENT_MAX_BYTES; ValidationError saying why not."""
    allowed = settings.OUTBOUND_ATTACHMENT_TYPES
    limit = settings.OUTBOUND_ATTACHMENT_MAX_BYTES
    if not upload.size:
        raise ValidationError("That file is empty. Choose another one.", code="empty_file")
    if upload.size > limit:
        raise ValidationError(
            f"That file is {_readable_size(upload.size)}; files can be at most "
            f"{_readable_size(limit)}. Attach a smaller one.",
            code="file_too_large",
        )
    mime_type = (upload.content_type or "").split(";")[0].strip().lower()
    names = ", ".join(t.split("/")[-1].upper() for t in allowed)
    if mime_type not in allowed:
        raise ValidationError(
            f"That kind of file cannot be sent. Attach one of: {names}.", code="file_type"
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    signatures = FILE_SIGNATURES.get(mime_type)
    if signatures and not head.startswith(signatures):
        raise ValidationError(
            f"That file is not the {names} file its name says. Attach another one.",
            code="file_type",
        )
    filename = get_valid_filename(upload.name.rsplit("/", 1)[-1])[-120:] or "file"
    return ReplyAttachment(file=upload, mime_type=mime_type, filename=filename)


class OutsideReplyWindow(ValidationError):
    """The channel only accepts free-text replies for a while after the customer's last
    message (WhatsApp: 24 hours); later ones need a template."""


def last_customer_message_at(company_id: int, customer_id: int, inbox_id: int) -> datetime | None:
    """When the customer last wrote through this inbox (any of their conversations in it)."""
    same_inbox = Conversation.objects.filter(
        company_id=company_id, customer_id=customer_id, inbox_id=inbox_id
    ).values("id")
    return (
        Message.objects.filter(
            company_id=company_id,
            conversation_id__in=same_inbox,
            sender_type=Message.SenderType.CUSTOMER,
        )
        .order_by("-timestamp")
        .values_list("timestamp", flat=True)
        .first()
    )


def _window_text(window: timedelta) -> str:
    hours = int(window.total_seconds() // 3600)
    return f"{hours // 24} days" if hours >= 48 and hours % 24 == 0 else f"{hours} hours"


def check_reply_window(inbox: "Inbox | None", customer: "Customer", now: datetime) -> None:
    """Refuse a free-text message on a channel with a reply window (the adapter's
    allowed_reply_window for this inbox: WhatsApp 24 hours, Messenger 24 hours or 7 days with
    the HUMAN_AGENT tag) when the customer's last message through `inbox` is older than the
    window, or there is none. Every sender (the composer, starting a conversation) asks this."""
    if inbox is None:
        return
    from inboxes.channels import adapter_for

    adapter = adapter_for(inbox)
    window = adapter.allowed_reply_window(inbox)
    if window is None:
        return
    last_inbound = last_customer_message_at(inbox.company_id, customer.pk, inbox.pk)
    if last_inbound is not None and now - last_inbound <= window:
        return
    since = (
        "has not written to this inbox yet"
        if last_inbound is None
        else f"last wrote {timezone.localtime(last_inbound):%b %-d, %H:%M}"
    )
    raise OutsideReplyWindow(
        f"{adapter.label} only accepts free-text replies within {_window_text(window)} of the "
        f"customer's last message, and {customer.name} {since}. Your draft is "
        f"kept: send it once they write again ({adapter.reply_window_note(inbox)}).",
        code="outside_window",
    )


def _check_files_allowed(conversation: Conversation, attachment: ReplyAttachment | None) -> None:
    """Refuse a file on a channel that cannot send one (nothing stored; the draft is kept)."""
    if attachment is None or conversation.inbox_id is None:
        return
    from inboxes.channels import adapter_for

    adapter = adapter_for(conversation.inbox)
    if not adapter.sends_files:
        raise ValidationError(
            f"{adapter.label} does not take files from the hub yet. Send the text alone, or "
            "share the file another way.",
            code="file_channel",
        )


def _enqueue_delivery(message: Message) -> None:
    from conversations.tasks import deliver_message

    transaction.on_commit(
        lambda: deliver_message.enqueue(company_id=message.company_id, message_id=message.pk)
    )


def _write_agent_message(
    user: User,
    conversation: Conversation,
    text: str,
    now: datetime,
    attachment: ReplyAttachment | None = None,
    reply_to: Message | None = None,
    cc: list[str] | None = None,
) -> Message:
    """Store an agent's message (and its file); one for a provider is pending and queued for
    delivery on commit, a note on a conversation logged by hand (no inbox) has nothing to
    deliver."""
    message = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        inbox_id=conversation.inbox_id,
        content=text,
        kind=attachment.kind if attachment else Message.Kind.TEXT,
        reply_to=reply_to,
        sender_type=Message.SenderType.AGENT,
        sender_user=user,
        timestamp=now,
        is_read=True,
        delivery_status=Message.DeliveryStatus.PENDING
        if conversation.inbox_id
        else Message.DeliveryStatus.SENT,
        status_changed_at=now,
        payload={"cc": cc} if cc else {},
    )
    if attachment is not None:
        stored = MessageAttachment(
            company_id=conversation.company_id,
            message=message,
            kind=attachment.kind,
            mime_type=attachment.mime_type,
            filename=attachment.filename,
            size=attachment.file.size,
            # the chat shows a file's text under it, as WhatsApp does with a caption
            caption=text,
            state=MessageAttachment.State.STORED,
        )
        stored.file.save(attachment.filename, attachment.file, save=False)
        stored.save()
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
    attachment: UploadedFile | None = None,
    reply_to_id: int | None = None,
    cc: list[str] | None = None,
) -> Message:
    """Store an agent's reply (text, a file, or both; answering one message of the conversation
    when `reply_to_id` is given) as pending and queue its delivery once the
    transaction commits.

    Refused with NewActivity when a message newer than `last_seen_message_id` exists, so nobody
    answers a conversation they have not fully read; with OutsideReplyWindow (nothing stored)
    when the channel no longer accepts free text from us. Replying to an unassigned conversation
    claims it; a new one moves to in-progress.
    """
    company_id = acting_company_id(user, company_id)
    checked = check_reply_attachment(attachment) if attachment is not None else None
    # a file may go without text
    text = "" if checked and not content.strip() else validate_agent_content(content)
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        check_reply_window(conversation.inbox, conversation.customer, timezone.now())
        _check_files_allowed(conversation, checked)
        reply_to = None
        if reply_to_id is not None:
            reply_to = Message.objects.filter(
                company_id=company_id, conversation=conversation, pk=reply_to_id
            ).first()
            if reply_to is None:
                raise ValidationError(
                    "The message you replied to is not in this conversation.", code="reply_to"
                )
        newer = Message.objects.filter(company_id=company_id, conversation=conversation)
        if last_seen_message_id is not None:
            newer = newer.filter(pk__gt=last_seen_message_id)
        newer = list(newer.select_related("sender_user").order_by("timestamp", "id"))
        if newer:
            raise NewActivity(newer)
        now = timezone.now()
        message = _write_agent_message(user, conversation, text, now, checked, reply_to, cc)
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
        message.last_error_code = ""
        message.delivery_attempts = 0
        message.claimed_until = None
        message.next_attempt_at = None
        # a message the provider accepted, then reported failed, is a new send: its new id is
        # recorded (late statuses of the old one no longer match it)
        message.provider_message_id = ""
        message.status_changed_at = timezone.now()
        message.save(
            update_fields=[
                "delivery_status",
                "last_error",
                "last_error_code",
                "delivery_attempts",
                "claimed_until",
                "next_attempt_at",
                "provider_message_id",
                "status_changed_at",
            ]
        )
        _touch(company_id, message.conversation_id)
        _enqueue_delivery(message)
    return message
