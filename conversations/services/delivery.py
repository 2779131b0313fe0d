"""Delivery outcomes of agent messages: from the delivery task and from providers' status
callbacks."""

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F

from companies.access import SystemActor, acting_company_id
from conversations.models import Message
from conversations.services.common import _touch

if TYPE_CHECKING:
    from inboxes.channels import StatusUpdate
    from inboxes.models import Inbox


def record_delivery(
    actor: SystemActor,
    *,
    company_id: int,
    message_id: int,
    status: str,
    provider_message_id: str = "",
    error: str = "",
) -> None:
    """Delivery outcome from the worker or a provider callback; pollers see it on their next poll."""
    company_id = acting_company_id(actor, company_id)
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


STATUS_ORDER = {
    Message.DeliveryStatus.PENDING: 0,
    Message.DeliveryStatus.SENT: 1,
    Message.DeliveryStatus.DELIVERED: 2,
    Message.DeliveryStatus.READ: 3,
}


def apply_status_update(actor: SystemActor, inbox: "Inbox", update: "StatusUpdate") -> bool:
    """A provider's status callback for a message sent through `inbox`: moves the message forward
    only (a late `sent` never overwrites `read`); a status naming a message this inbox did not
    send changes nothing. Whether anything changed."""
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
        if message is None:
            return False
        current = message.delivery_status
        if status == Message.DeliveryStatus.FAILED:
            if current == Message.DeliveryStatus.READ:
                return False
            message.delivery_status = status
            message.last_error = (update.error_text or "The provider could not deliver it.")[:2000]
            message.last_error_code = update.error_code[:64]
        elif current != Message.DeliveryStatus.FAILED and STATUS_ORDER.get(
            status, 0
        ) > STATUS_ORDER.get(current, 0):
            message.delivery_status = status
        else:
            return False
        message.save(update_fields=["delivery_status", "last_error", "last_error_code"])
        _touch(inbox.company_id, message.conversation_id)
    return True
