"""Background work for conversations, run by `manage.py db_worker` (Django's Tasks framework)."""

from django.tasks import task

from companies.access import system_actor
from conversations.models import Message
from conversations.services import record_delivery
from customers.selectors import identity_for
from inboxes.channels import OutboundMessage, SendError, adapter_for


def _recipient(message: Message) -> str:
    customer = message.conversation.customer
    adapter = adapter_for(message.inbox)
    return identity_for(customer, message.inbox) or getattr(customer, adapter.contact_field)


@task
def deliver_message(company_id: int, message_id: int) -> str:
    """Send one pending agent message through its inbox's channel adapter."""
    message = (
        Message.objects.select_related("conversation__customer", "inbox")
        .filter(company_id=company_id, pk=message_id, delivery_status="pending")
        .first()
    )
    if message is None or message.inbox is None:
        return "nothing to send"
    adapter = adapter_for(message.inbox)
    outbound = OutboundMessage(recipient=_recipient(message), text=message.content)
    try:
        result = adapter.send(message.inbox, outbound)
    except SendError as error:
        record_delivery(
            system_actor(company_id, reason="delivery task"),
            company_id=company_id,
            message_id=message_id,
            status=Message.DeliveryStatus.FAILED,
            error=str(error),
        )
        return f"failed: {error}"
    record_delivery(
        system_actor(company_id, reason="delivery task"),
        company_id=company_id,
        message_id=message_id,
        status=Message.DeliveryStatus.SENT,
        provider_message_id=result.provider_message_id,
    )
    return "sent"
