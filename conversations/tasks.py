"""Background work for conversations, run by `manage.py db_worker` (Django's Tasks framework).

Django's Tasks has no retries of its own: `deliver_message` schedules its own next attempt
(`run_after`), and `manage.py sweep_deliveries` queues again the messages whose task was lost.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.tasks import task

from conversations.models import Conversation, Message, MessageAttachment
from conversations.services import delivery
from customers.models import Customer
from customers.selectors import identity_for
from inboxes.channels import OutboundAttachment, OutboundMessage, SendError, adapter_for
from inboxes.channels.email import thread_marker
from inboxes.models import Inbox

logger = logging.getLogger(__name__)


def _outbound(message: Message) -> tuple[Inbox, OutboundMessage]:
    """The inbox and what to send, read row by row with the company (one shard each)."""
    company_id = message.company_id
    inbox = Inbox.objects.get(company_id=company_id, pk=message.inbox_id)
    customer_id = (
        Conversation.objects.filter(company_id=company_id, pk=message.conversation_id)
        .values_list("customer_id", flat=True)
        .get()
    )
    customer = Customer.objects.get(company_id=company_id, pk=customer_id)
    reply_to = ""
    if message.reply_to_id:
        reply_to = (
            Message.objects.filter(company_id=company_id, pk=message.reply_to_id)
            .values_list("provider_message_id", flat=True)
            .first()
            or ""
        )
    attachments = []
    for attachment in MessageAttachment.objects.filter(
        company_id=company_id, message_id=message.pk
    ):
        with attachment.file.open("rb") as stored:
            content = stored.read()
        attachments.append(
            OutboundAttachment(
                kind=attachment.kind,
                filename=attachment.filename,
                mime_type=attachment.mime_type,
                content=content,
            )
        )
    from conversations.services.replies import last_customer_message_at

    adapter = adapter_for(inbox)
    subject, thread = "", ()
    if adapter.threads_by_reference:
        # email: the subject and the provider ids of the conversation so far, so the reply
        # lands in the customer's own thread (In-Reply-To, References)
        subject = (
            Conversation.objects.filter(company_id=company_id, pk=message.conversation_id)
            .values_list("subject", flat=True)
            .get()
        )
        thread = tuple(
            reversed(
                Message.objects.filter(
                    company_id=company_id,
                    conversation_id=message.conversation_id,
                    pk__lt=message.pk,
                )
                .exclude(provider_message_id="")
                .order_by("-id")
                .values_list("provider_message_id", flat=True)[:20]
            )
        )
    outbound = OutboundMessage(
        recipient=identity_for(customer, inbox)
        or (
            "" if adapter.identity_is_inbox_scoped else getattr(customer, adapter.contact_field, "")
        ),
        text=message.content,
        attachments=tuple(attachments),
        reply_to_provider_id=reply_to or message.reply_to_provider_id,
        last_inbound_at=last_customer_message_at(company_id, customer_id, inbox.pk)
        if adapter.reply_window is not None
        else None,
        reference=f"hub-message:{message.pk}",
        subject=subject,
        references=thread,
        thread_marker=thread_marker(message.conversation_id)
        if adapter.threads_by_reference
        else "",
        cc=tuple(message.payload.get("cc") or ()),
    )
    return inbox, outbound


def _enqueue_retry(company_id: int, message_id: int, retry_at: datetime) -> None:
    """Queue the next attempt for `retry_at`; a backend that cannot defer (the immediate one)
    leaves it to the sweep."""
    if deliver_message.get_backend().supports_defer:
        deliver_message.using(run_after=retry_at).enqueue(
            company_id=company_id, message_id=message_id
        )


@task
def deliver_message(company_id: int, message_id: int) -> str:
    """Send one pending agent message through its inbox's channel adapter, once: claim it, send,
    record `sent` with the provider's id, or schedule a retry, or record why it failed."""
    claim = delivery.claim_message(company_id=company_id, message_id=message_id)
    if claim is None:
        return "not claimed: already sent, not due, or another worker has it"
    if claim.attempt > settings.DELIVERY_MAX_ATTEMPTS:
        delivery.give_up(claim)
        return "failed: too many attempts"
    message = Message.objects.get(company_id=company_id, pk=message_id)
    try:
        inbox, outbound = _outbound(message)
        result = adapter_for(inbox).send(inbox, outbound)
    except SendError as error:
        outcome = error
    except Exception as bug:  # a bug or a broken file must not strand the message
        logger.exception("Sending message %s of company %s failed", message_id, company_id)
        outcome = SendError(f"The hub could not send it ({type(bug).__name__}).", code="internal")
    else:
        delivery.record_sent(claim, result.provider_message_id)
        return f"sent: {result.provider_message_id}"
    retry_at = delivery.record_failure(claim, outcome)
    if retry_at is not None:
        _enqueue_retry(company_id, message_id, retry_at)
        return f"retry at {retry_at.isoformat()}: {outcome}"
    return f"failed: {outcome}"
