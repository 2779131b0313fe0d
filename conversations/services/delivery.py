"""Delivery outcomes of agent messages: from the delivery task and from providers' status
callbacks."""

from django.db import transaction
from django.db.models import F

from conversations.models import Message
from conversations.services.common import _touch


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
