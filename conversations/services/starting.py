"""Conversations an agent starts: a first message to a customer, or a call logged by hand."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from companies.access import acting_company_id
from conversations.models import Conversation
from conversations.services.common import Status, validate_agent_content
from conversations.services.replies import _write_agent_message, check_reply_window
from customers.models import Customer
from inboxes.channels import adapter_for_kind
from inboxes.models import Channel, Inbox


@dataclass(frozen=True)
class NewCustomer:
    name: str
    email: str = ""
    phone: str = ""
    whatsapp_number: str = ""
    instagram_handle: str = ""
    facebook_id: str = ""


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

    company_id = acting_company_id(user, company_id)
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
        identity = adapter_for_kind(channel).contact_field
        if inbox is not None and not getattr(customer, identity):
            label = Customer._meta.get_field(identity).verbose_name
            raise ValidationError(
                {
                    "customer": f"{customer.name} has no {label}; add it to reach them on this channel."
                }
            )
        now = timezone.now()
        check_reply_window(inbox, customer, now)
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
