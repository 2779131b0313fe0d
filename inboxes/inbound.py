"""Services for stored webhook deliveries: process one (parse it, apply its events) and reprocess
a dead letter after a fix. Nothing a provider delivered is lost: a delivery that cannot be
processed stays stored, with its reason."""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from companies.access import NotFound, managed_company_id, system_actor
from inboxes.channels import (
    IgnoredDelivery,
    InboundMessage,
    MessageRemoved,
    StatusUpdate,
    StatusWatermark,
    UnparseableDelivery,
    adapter_for,
)
from inboxes.models import WebhookDelivery

logger = logging.getLogger(__name__)
State = WebhookDelivery.State


def _enqueue(delivery: WebhookDelivery) -> None:
    from inboxes.tasks import process_delivery

    company_id, delivery_id = delivery.company_id, delivery.pk
    transaction.on_commit(
        lambda: process_delivery.enqueue(company_id=company_id, delivery_id=delivery_id)
    )


def _record(delivery: WebhookDelivery, state: str, reason: str = "", events: int = 0) -> str:
    WebhookDelivery.objects.filter(company_id=delivery.company_id, pk=delivery.pk).update(
        state=state,
        reason=reason[:2000],
        events=events,
        attempts=delivery.attempts + 1,
        processed_at=timezone.now(),
    )
    return state


def process_webhook_delivery(*, company_id: int, delivery_id: int) -> str:
    """Apply a received delivery's events (acting for the system; the delivery names its company
    and inbox). Its state becomes processed, ignored (it names another provider account) or dead
    (it cannot be read), each with the reason. Returns that state."""
    from conversations.services.delivery import apply_status_update, apply_status_watermark
    from conversations.services.inbound import receive_inbound_message, remove_inbound_message

    try:
        with transaction.atomic():
            # the row lock makes two workers given the same delivery apply it once
            delivery = (
                WebhookDelivery.objects.select_for_update(of=("self",))
                .select_related("inbox")
                .filter(company_id=company_id, pk=delivery_id, state=State.RECEIVED)
                .first()
            )
            if delivery is None:
                return "nothing to do"
            inbox = delivery.inbox
            adapter = adapter_for(inbox)
            actor = system_actor(company_id, reason=f"webhook delivery {delivery_id}")
            try:
                events = adapter.parse(inbox, bytes(delivery.body), delivery.content_type)
            except UnparseableDelivery as unparseable:
                return _record(delivery, State.DEAD, str(unparseable))
            except IgnoredDelivery as ignored:
                return _record(delivery, State.IGNORED, str(ignored))
            account = adapter.account_id(inbox)
            foreign = [e for e in events if account and e.account_id and e.account_id != account]
            mine = [e for e in events if e not in foreign]
            for event in mine:
                if isinstance(event, InboundMessage):
                    receive_inbound_message(actor, inbox, event)
                elif isinstance(event, StatusUpdate):
                    apply_status_update(actor, inbox, event)
                elif isinstance(event, StatusWatermark):
                    apply_status_watermark(actor, inbox, event)
                elif isinstance(event, MessageRemoved):
                    remove_inbound_message(actor, inbox, event)
            if foreign:
                names = ", ".join(sorted({event.account_id for event in foreign}))
                reason = (
                    f"{len(foreign)} event(s) name the account {names}, not this inbox's "
                    f"({account}); they were not applied. Check the inbox's "
                    f"{adapter.label} account id, or the app's webhook subscriptions."
                )
                return _record(
                    delivery, State.IGNORED if not mine else State.PROCESSED, reason, len(mine)
                )
            return _record(delivery, State.PROCESSED, events=len(mine))
    except Exception as error:  # noqa: BLE001 - kept as a dead letter, never lost
        logger.exception("Webhook delivery %s of company %s failed", delivery_id, company_id)
        reason = f"Processing failed ({type(error).__name__}: {error}). Reprocess it after a fix."
        failed = WebhookDelivery.objects.filter(company_id=company_id, pk=delivery_id).first()
        if failed is None:
            return "nothing to do"
        return _record(failed, State.DEAD, reason)


def requeue_stale_deliveries(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Enqueue again the deliveries still `received` a while after they arrived (their task was
    lost: a worker killed, an enqueue that failed after the INSERT). For the periodic sweep;
    processing is idempotent, so a delivery enqueued twice is applied once. How many."""
    stale = list(
        WebhookDelivery.objects.filter(
            state=State.RECEIVED, received_at__lt=timezone.now() - older_than
        )
        .order_by("received_at", "id")
        .values_list("company_id", "id")[:1000]
    )
    from inboxes.tasks import process_delivery

    for company_id, delivery_id in stale:
        process_delivery.enqueue(company_id=company_id, delivery_id=delivery_id)
    return len(stale)


def reprocess_delivery(actor: User, *, delivery_id: int) -> WebhookDelivery:
    """Queue a dead or ignored delivery again (after a fix), for a company admin of its
    company: NotFound for another company's, as for one that does not exist."""
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.select_for_update().defer("body")
        if not actor.is_super_admin:
            deliveries = deliveries.filter(company_id=actor.company_id)
        delivery = deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound("No such delivery.")
        managed_company_id(
            actor, delivery.company_id, refusal="Only this company's admins reprocess deliveries."
        )
        if delivery.state not in (State.DEAD, State.IGNORED):
            raise ValidationError("Only a dead letter or an ignored delivery can be reprocessed.")
        delivery.state = State.RECEIVED
        delivery.reason = ""
        delivery.save(update_fields=["state", "reason"])
        _enqueue(delivery)
    return delivery
