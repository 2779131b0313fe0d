"""Messages customers send, as a provider delivered them: into the customer's conversation in the
inbox, once (deduplicated by the provider's message id), with the conversation's counters."""

import re

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from companies.access import SystemActor, acting_company_id
from conversations.models import Conversation, Message, MessageAttachment
from conversations.services.common import Status
from customers.models import Customer, CustomerIdentity
from customers.services import customer_for_identity
from inboxes.channels import InboundMessage, MessageRemoved, adapter_for
from inboxes.models import Inbox


def _stored(inbox: Inbox, provider_message_id: str) -> Message | None:
    return Message.objects.filter(
        company_id=inbox.company_id, inbox_id=inbox.pk, provider_message_id=provider_message_id
    ).first()


SUBJECT_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def _bare_subject(subject: str) -> str:
    """A subject without its Re:/Fwd: prefixes, for comparing threads."""
    return SUBJECT_PREFIX.sub("", subject or "").strip().lower()


def _threaded(inbox: Inbox, event: InboundMessage) -> Conversation | None:
    """For channels that thread by reference (email): the conversation of the message this one
    answers (In-Reply-To, then References newest first), else the one our signed marker in the
    quoted text names; in this inbox only."""
    thread = [event.reply_to_provider_id, *reversed(event.payload.get("references") or [])]
    thread = [provider_id for provider_id in thread if provider_id]
    conversation_id = None
    if thread:
        conversation_id = (
            Message.objects.filter(
                company_id=inbox.company_id, inbox_id=inbox.pk, provider_message_id__in=thread
            )
            .order_by("-id")
            .values_list("conversation_id", flat=True)
            .first()
        )
    if conversation_id is None:
        # a mail client that dropped the headers: the signed marker our mail carried
        conversation_id = event.payload.get("thread")
    if conversation_id is None:
        return None
    return (
        Conversation.objects.select_for_update()
        .filter(company_id=inbox.company_id, inbox_id=inbox.pk, pk=conversation_id)
        .first()
    )


def _conversation_for(inbox: Inbox, customer: Customer, event: InboundMessage) -> Conversation:
    """The customer's open conversation in this inbox; a resolved one reopens; after a closed one
    (or none) a new one starts. Email threads instead: a reply joins the conversation of the
    mail it answers; otherwise a new subject starts a new conversation. Row-locked, for the
    counters."""
    latest = (
        Conversation.objects.select_for_update()
        .filter(company_id=inbox.company_id, customer_id=customer.pk, inbox_id=inbox.pk)
        .order_by("-last_message_at", "-id")
    )
    if adapter_for(inbox).threads_by_reference:
        conversation = _threaded(inbox, event)
        if conversation is None:
            subject = _bare_subject(event.subject)
            conversation = next(
                (
                    c
                    for c in latest.filter(status__in=Conversation.OPEN_STATUSES)[:20]
                    if _bare_subject(c.subject) == subject
                ),
                None,
            )
    else:
        conversation = (
            latest.filter(status__in=Conversation.OPEN_STATUSES).first() or latest.first()
        )
    if conversation is None or conversation.status == Status.CLOSED:
        return Conversation.objects.create(
            company_id=inbox.company_id,
            customer=customer,
            inbox=inbox,
            channel=inbox.kind,
            status=Status.NEW,
            subject=event.subject[:255],
            last_message_at=event.timestamp,
        )
    if conversation.status == Status.RESOLVED and not event.from_business:
        # the customer wrote again (a reply the business sent from elsewhere reopens nothing)
        conversation.status = Status.IN_PROGRESS if conversation.assigned_user_id else Status.NEW
    return conversation


def receive_inbound_message(
    actor: SystemActor, inbox: Inbox, event: InboundMessage
) -> tuple[Message, bool]:
    """Store a customer's message from `inbox` (the system acting for the inbox's company). The
    same provider message delivered twice, or twenty times at once, is stored once and counted
    once. Returns the message and whether it is new."""
    acting_company_id(actor, inbox.company_id)
    with transaction.atomic():
        existing = _stored(inbox, event.provider_message_id)
        if existing is not None:
            return existing, False
        name = event.sender_name or _profile_name(inbox, event.sender)
        customer = customer_for_identity(inbox, value=event.sender, name=name)
        # one delivery of this customer's at a time from here: the conversation choice and the
        # dedup below cannot race
        Customer.objects.select_for_update().filter(
            company_id=inbox.company_id, pk=customer.pk
        ).first()
        existing = _stored(inbox, event.provider_message_id)
        if existing is not None:
            return existing, False
        conversation = _conversation_for(inbox, customer, event)
        reply_to = (
            _stored(inbox, event.reply_to_provider_id) if event.reply_to_provider_id else None
        )
        kind = event.kind if event.kind in Message.Kind.values else Message.Kind.UNSUPPORTED
        # a reply the business sent from outside the hub (Meta's own inbox): an agent message
        # with no author, already sent; it is not unread
        by_business = event.from_business
        try:
            with transaction.atomic():
                message = Message.objects.create(
                    company_id=inbox.company_id,
                    conversation=conversation,
                    inbox=inbox,
                    content=event.text or f"[{Message.Kind(kind).label}]",
                    sender_type=Message.SenderType.AGENT
                    if by_business
                    else Message.SenderType.CUSTOMER,
                    is_read=by_business,
                    status_changed_at=timezone.now() if by_business else None,
                    timestamp=event.timestamp,
                    provider_message_id=event.provider_message_id,
                    delivery_status=Message.DeliveryStatus.SENT
                    if by_business
                    else Message.DeliveryStatus.DELIVERED,
                    kind=kind,
                    payload=event.payload,
                    reply_to=reply_to,
                    reply_to_provider_id=event.reply_to_provider_id,
                )
        except IntegrityError:  # stored meanwhile by a path that did not lock the customer
            return _stored(inbox, event.provider_message_id), False
        attachments = MessageAttachment.objects.bulk_create(
            MessageAttachment(
                company_id=inbox.company_id,
                message=message,
                kind=attachment.kind,
                mime_type=attachment.mime_type[:255],
                filename=attachment.filename[:255],
                caption=attachment.caption,
                provider_media_id=attachment.provider_media_id,
                source_url=attachment.url,
                content_id=attachment.content_id[:255],
            )
            for attachment in event.attachments
        )
        for stored, carried in zip(attachments, event.attachments, strict=True):
            if carried.content:  # the delivery carried the file itself (email): keep it now
                stored.file.save(
                    f"{stored.kind}-{stored.pk}-{stored.filename or 'file'}"[:150],
                    ContentFile(carried.content),
                    save=False,
                )
                MessageAttachment.objects.filter(company_id=inbox.company_id, pk=stored.pk).update(
                    file=stored.file.name,
                    size=len(carried.content),
                    state=MessageAttachment.State.STORED,
                )
                stored.state = MessageAttachment.State.STORED
        Conversation.objects.filter(company_id=inbox.company_id, pk=conversation.pk).update(
            status=conversation.status,
            unread_count=F("unread_count") + (0 if by_business else 1),
            last_message_at=max(conversation.last_message_at, event.timestamp),
            updated_at=timezone.now(),
        )
        for attachment in attachments:
            if attachment.state == MessageAttachment.State.PENDING:
                _enqueue_download(attachment)
    return message, True


def _enqueue_download(attachment: MessageAttachment) -> None:
    from inboxes.tasks import download_attachment

    company_id, attachment_id = attachment.company_id, attachment.pk
    transaction.on_commit(
        lambda: download_attachment.enqueue(company_id=company_id, attachment_id=attachment_id)
    )


def _profile_name(inbox: Inbox, sender: str) -> str:
    """The name of a customer met for the first time, from the channel's profile API (asked once:
    a known identity keeps the customer's saved name)."""
    adapter = adapter_for(inbox)
    normalized = adapter.normalize_identity(sender)
    known = CustomerIdentity.objects.filter(
        company_id=inbox.company_id,
        kind=adapter.identity_kind,
        inbox_id=inbox.pk if adapter.identity_is_inbox_scoped else None,
        value=normalized,
    ).exists()
    if known or not normalized:
        return ""
    name = adapter.customer_name(inbox, normalized)
    if not name and not adapter.contact_for_identity(normalized):
        # no name and no contact detail to show instead (an Instagram id is not a handle)
        name = f"{adapter.label} customer {normalized[-6:]}"
    return name


REMOVED_TEXT = "[The customer unsent this message]"


def remove_inbound_message(actor: SystemActor, inbox: Inbox, event: MessageRemoved) -> bool:
    """The customer unsent a message: it shows as removed (its text and files are no longer
    shown). Only the customer's own message of this inbox; whether anything changed."""
    acting_company_id(actor, inbox.company_id)
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(
                company_id=inbox.company_id,
                inbox_id=inbox.pk,
                provider_message_id=event.provider_message_id,
                sender_type=Message.SenderType.CUSTOMER,
            )
            .first()
        )
        if message is None or message.payload.get("removed"):
            return False
        message.content = REMOVED_TEXT
        message.payload = {"removed": True, "removed_at": event.timestamp.isoformat()}
        message.save(update_fields=["content", "payload"])
        MessageAttachment.objects.filter(
            company_id=inbox.company_id, message_id=message.pk
        ).delete()
        Conversation.objects.filter(company_id=inbox.company_id, pk=message.conversation_id).update(
            updated_at=timezone.now()
        )
    return True
