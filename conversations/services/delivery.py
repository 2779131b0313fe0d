"""Delivery of agent messages: the worker's claim, outcome and retry schedule, the sweep that
finds lost tasks, and providers' status callbacks.

The guarantee (README, "Delivery guarantee"): at least once to the provider. A worker claims a
message with one UPDATE (a lease: `claimed_until`), so two workers never send it at the same
time; a worker that dies mid-send leaves the lease to expire, and the sweep queues the message
again. Its provider id is recorded once (the first success wins), and statuses only move forward.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from companies.access import SystemActor, acting_company_id
from conversations.models import Message
from conversations.services.common import _touch

if TYPE_CHECKING:
    from inboxes.channels import SendError, StatusUpdate, StatusWatermark
    from inboxes.models import Inbox

MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one message: `lease` is both the expiry and the token its later
    writes must still match (a worker whose lease was taken over writes nothing)."""

    company_id: int
    message_id: int
    lease: datetime
    attempt: int  # this attempt's number, from 1


def claim_message(*, company_id: int, message_id: int, now: datetime | None = None) -> Claim | None:
    """Take a pending agent message for one send attempt, or None when it is not pending, not
    due yet, or held by another worker whose lease has not expired: one UPDATE ... RETURNING,
    so of two workers racing for it exactly one gets it."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE conversations_message
                  SET claimed_until = %(lease)s, delivery_attempts = delivery_attempts + 1
                WHERE company_id = %(company)s AND id = %(message)s
                  AND sender_type = 'agent' AND delivery_status = 'pending'
                  AND inbox_id IS NOT NULL
                  AND (claimed_until IS NULL OR claimed_until <= %(now)s)
                  AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)
            RETURNING delivery_attempts""",
            {"lease": lease, "company": company_id, "message": message_id, "now": now},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Claim(company_id=company_id, message_id=message_id, lease=lease, attempt=row[0])


def _held(claim: Claim) -> QuerySet[Message]:
    return Message.objects.filter(
        company_id=claim.company_id,
        pk=claim.message_id,
        delivery_status=Message.DeliveryStatus.PENDING,
        claimed_until=claim.lease,
    )


def _touched(claim: Claim, changed: int) -> bool:
    if changed:
        conversation_id = (
            Message.objects.filter(company_id=claim.company_id, pk=claim.message_id)
            .values_list("conversation_id", flat=True)
            .first()
        )
        if conversation_id:
            _touch(claim.company_id, conversation_id)
    return bool(changed)


def record_sent(claim: Claim, provider_message_id: str) -> bool:
    """The provider accepted the message: `sent` with its id. Recorded once: a message already
    sent (by a worker that took over an expired lease) keeps its first id."""
    with transaction.atomic():
        _drop_early_echo(claim, provider_message_id)
        changed = Message.objects.filter(
            company_id=claim.company_id,
            pk=claim.message_id,
            delivery_status=Message.DeliveryStatus.PENDING,
            provider_message_id="",
        ).update(
            delivery_status=Message.DeliveryStatus.SENT,
            provider_message_id=provider_message_id[:255],
            claimed_until=None,
            next_attempt_at=None,
            last_error="",
            last_error_code="",
            status_changed_at=timezone.now(),
        )
        return _touched(claim, changed)


def _drop_early_echo(claim: Claim, provider_message_id: str) -> None:
    """The provider's echo of this very send (Instagram echoes every message the account sends)
    may be processed before the send's answer is recorded: it was stored as a message sent from
    outside the hub (an agent message with no author). This send is that message: the copy goes,
    so the id is recorded once, on the hub's own message."""
    inbox_id = (
        Message.objects.filter(company_id=claim.company_id, pk=claim.message_id)
        .values_list("inbox_id", flat=True)
        .first()
    )
    if inbox_id is None or not provider_message_id:
        return
    Message.objects.filter(
        company_id=claim.company_id,
        inbox_id=inbox_id,
        provider_message_id=provider_message_id[:255],
        sender_type=Message.SenderType.AGENT,
        sender_user__isnull=True,
    ).exclude(pk=claim.message_id).delete()


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before attempt `attempt + 1`: exponential (BASE * 2^(attempt-1), at most MAX)
    with jitter (between half and all of it), and never sooner than the provider's Retry-After
    (itself capped by DELIVERY_RETRY_AFTER_MAX_SECONDS)."""
    ceiling = min(
        settings.DELIVERY_RETRY_MAX_SECONDS,
        settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** max(0, attempt - 1),
    )
    delay = ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not a secret
    if retry_after:
        delay = max(delay, min(retry_after, settings.DELIVERY_RETRY_AFTER_MAX_SECONDS))
    return delay


def record_failure(claim: Claim, error: "SendError") -> datetime | None:
    """A send failed. Retryable and attempts left: the message stays pending, due again after
    `retry_delay`, and that time is returned (the caller queues the task for it). Permanent, or
    the last attempt: `failed` with the provider's code and text; None."""
    now = timezone.now()
    reason = str(error) or "The provider could not be reached."
    retry_at = None
    if error.retryable and claim.attempt < settings.DELIVERY_MAX_ATTEMPTS:
        retry_at = now + timedelta(seconds=retry_delay(claim.attempt, error.retry_after))
        updates = {"next_attempt_at": retry_at}
    else:
        if error.retryable:
            reason = f"Gave up after {claim.attempt} attempts. {reason}"
        updates = {"delivery_status": Message.DeliveryStatus.FAILED, "next_attempt_at": None}
    with transaction.atomic():
        changed = _held(claim).update(
            **updates,
            claimed_until=None,
            last_error=reason[:MAX_ERROR_LENGTH],
            last_error_code=error.code[:64],
            status_changed_at=now,
        )
        _touched(claim, changed)
    return retry_at if changed else None


def give_up(claim: Claim) -> bool:
    """A message claimed more than DELIVERY_MAX_ATTEMPTS times (its workers kept dying or
    timing out mid-send): `failed`, with the last error it had."""
    note = f"Gave up after {claim.attempt - 1} attempts; the last one never finished. "
    with transaction.atomic():
        changed = _held(claim).update(
            delivery_status=Message.DeliveryStatus.FAILED,
            claimed_until=None,
            next_attempt_at=None,
            last_error=Concat(Value(note), F("last_error")),
            status_changed_at=timezone.now(),
        )
        return _touched(claim, changed)


def lost_deliveries(*, now: datetime | None = None, limit: int = 500) -> list[tuple[int, int]]:
    """(company id, message id) of pending agent messages whose task was lost: a lease that
    expired (the worker died mid-send), or never claimed DELIVERY_SWEEP_AFTER_SECONDS after it
    was due. Every company's: the sweep is the system's, not a tenant's."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.DELIVERY_SWEEP_AFTER_SECONDS)
    return list(
        Message.objects.filter(
            delivery_status=Message.DeliveryStatus.PENDING,
            sender_type=Message.SenderType.AGENT,
            inbox_id__isnull=False,
        )
        .alias(due=Coalesce("next_attempt_at", "created_at"))
        .filter(Q(claimed_until__lte=now) | Q(claimed_until__isnull=True, due__lte=overdue))
        .order_by("created_at", "id")
        .values_list("company_id", "id")[:limit]
    )


def record_delivery(
    actor: SystemActor,
    *,
    company_id: int,
    message_id: int,
    status: str,
    provider_message_id: str = "",
    error: str = "",
) -> None:
    """Set a delivery outcome directly (demo data and tools; the worker uses claim_message,
    record_sent and record_failure)."""
    company_id = acting_company_id(actor, company_id)
    updates: dict[str, object] = {"delivery_status": status, "status_changed_at": timezone.now()}
    if provider_message_id:
        updates["provider_message_id"] = provider_message_id
    if status == Message.DeliveryStatus.FAILED:
        updates["last_error"] = error[:MAX_ERROR_LENGTH]
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


STATUS_ORDER = {
    Message.DeliveryStatus.PENDING: 0,
    Message.DeliveryStatus.SENT: 1,
    Message.DeliveryStatus.DELIVERED: 2,
    Message.DeliveryStatus.READ: 3,
}


class StatusBeforeSend(Exception):
    """A status names a message id not recorded yet while a send through the inbox is in flight:
    the provider's webhook overtook the worker recording the id. Apply it again a moment later."""


def apply_status_update(
    actor: SystemActor, inbox: "Inbox", update: "StatusUpdate", *, wait_for_send: bool = False
) -> bool:
    """A provider's status callback for a message sent through `inbox`: moves the message forward
    only (a late `sent` never overwrites `delivered` or `read`; nothing overwrites `read`); a
    status naming a message this inbox did not send (another inbox's, another company's, or
    unknown) changes nothing. `failed` stays until an agent retries. Whether anything changed.

    With `wait_for_send`, a status for an unknown id while a send through the inbox is in flight
    raises StatusBeforeSend instead of being dropped (the caller applies it again later)."""
    acting_company_id(actor, inbox.company_id)
    status = update.status
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(
                company_id=inbox.company_id,
                inbox_id=inbox.pk,
                provider_message_id=update.provider_message_id,
                sender_type=Message.SenderType.AGENT,
            )
            .first()
        )
        if message is None or not update.provider_message_id:
            if message is None and wait_for_send and _send_in_flight(inbox):
                raise StatusBeforeSend(update.provider_message_id)
            return False
        current = message.delivery_status
        if status == Message.DeliveryStatus.FAILED:
            if current in (Message.DeliveryStatus.READ, Message.DeliveryStatus.FAILED):
                return False
            message.delivery_status = status
            message.last_error = (update.error_text or "The provider could not deliver it.")[
                :MAX_ERROR_LENGTH
            ]
            message.last_error_code = update.error_code[:64]
        elif current != Message.DeliveryStatus.FAILED and STATUS_ORDER.get(
            status, 0
        ) > STATUS_ORDER.get(current, 0):
            message.delivery_status = status
        else:
            return False
        message.status_changed_at = timezone.now()
        message.save(
            update_fields=["delivery_status", "last_error", "last_error_code", "status_changed_at"]
        )
        _touch(inbox.company_id, message.conversation_id)
    return True


def _send_in_flight(inbox: "Inbox") -> bool:
    """Whether a worker holds a message of this inbox right now (sending it)."""
    return Message.objects.filter(
        company_id=inbox.company_id,
        inbox_id=inbox.pk,
        delivery_status=Message.DeliveryStatus.PENDING,
        sender_type=Message.SenderType.AGENT,
        claimed_until__gt=timezone.now(),
    ).exists()


def apply_status_watermark(actor: SystemActor, inbox: "Inbox", update: "StatusWatermark") -> int:
    """A provider's watermark (Messenger's delivery and read receipts): every agent message sent
    through `inbox` to this customer at or before it moves forward to its status (never back;
    `failed` and `pending` stay). How many messages changed."""
    from customers.models import CustomerIdentity
    from inboxes.channels import adapter_for

    acting_company_id(actor, inbox.company_id)
    adapter = adapter_for(inbox)
    customer_id = (
        CustomerIdentity.objects.filter(
            company_id=inbox.company_id,
            kind=adapter.identity_kind,
            inbox_id=inbox.pk if adapter.identity_is_inbox_scoped else None,
            value=adapter.normalize_identity(update.recipient),
        )
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None:
        return 0
    from conversations.models import Conversation

    earlier = [
        status for status, order in STATUS_ORDER.items() if 0 < order < STATUS_ORDER[update.status]
    ]
    with transaction.atomic():
        messages = Message.objects.filter(
            company_id=inbox.company_id,
            inbox_id=inbox.pk,
            sender_type=Message.SenderType.AGENT,
            conversation_id__in=Conversation.objects.filter(
                company_id=inbox.company_id, inbox_id=inbox.pk, customer_id=customer_id
            ).values("id"),
            delivery_status__in=earlier,
            timestamp__lte=update.watermark,
        )
        conversation_ids = set(messages.values_list("conversation_id", flat=True))
        changed = messages.update(delivery_status=update.status, status_changed_at=timezone.now())
        for conversation_id in conversation_ids:
            _touch(inbox.company_id, conversation_id)
    return changed
