"""Every public service acts in its actor's company: another company's id is the same NotFound as
a missing one, and changes nothing there."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from accounts import services as staff
from accounts.models import Role, User
from companies import services as companies
from companies.access import NotFound, acting_company_id, system_actor
from companies.models import Company
from conversations import services as conversations
from conversations.models import Conversation, Message
from conversations.services.delivery import apply_status_update
from customers import services as customers
from customers.importing import import_customers
from customers.models import Customer
from inboxes import services as inboxes
from inboxes.inbound import reprocess_delivery
from inboxes.models import Inbox, WebhookDelivery
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

WHATSAPP = {
    "phone_number_id": "1234567890",
    "business_account_id": "998877",
    "access_token": "EAAG-token",
    "app_secret": "app-secret",
}
CSV = b"name,email\nAna,ana@example.com\n"


@pytest.fixture
def theirs() -> dict:
    """Company B with one of everything a service could change."""
    company = CompanyFactory(max_channels=5)
    admin = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    agent = UserFactory(company=company, role=Role.AGENT)
    conversation = ConversationFactory(company=company, assigned_user=agent, unread_count=1)
    MessageFactory(conversation=conversation)
    failed = MessageFactory(
        conversation=conversation,
        sender_type=Message.SenderType.AGENT,
        sender_user=agent,
        delivery_status=Message.DeliveryStatus.FAILED,
    )
    dead = WebhookDelivery.objects.create(
        company=company,
        inbox=conversation.inbox,
        received_at=timezone.now(),
        body=b"{}",
        state=WebhookDelivery.State.DEAD,
    )
    return {
        "company": company,
        "dead": dead,
        "admin": admin,
        "agent": agent,
        "customer": conversation.customer,
        "inbox": conversation.inbox,
        "conversation": conversation,
        "failed": failed,
    }


def snapshot(company: Company) -> list:
    """Every row of `company` a service could touch, as plain values."""
    company.refresh_from_db()
    rows = [Company.objects.filter(pk=company.pk).values().get()]
    for model in (User, Customer, Inbox, Conversation, Message, WebhookDelivery):
        rows.append(list(model.objects.filter(company=company).order_by("pk").values()))
    return rows


def calls(b: dict) -> dict[str, Callable[[User], object]]:
    """Each public service, asked to act in company B."""
    company, company_id = b["company"], b["company"].pk
    conv = {"company_id": company_id, "conversation_id": b["conversation"].pk}
    person = {"first_name": "X", "last_name": "Y", "role": Role.AGENT}
    return {
        "create_staff_member": lambda u: staff.create_staff_member(
            u, company=company, email="new@example.com", **person
        ),
        "update_staff_member": lambda u: staff.update_staff_member(
            u, company=company, user_id=b["agent"].pk, **person
        ),
        "set_staff_member_active": lambda u: staff.set_staff_member_active(
            u, company=company, user_id=b["agent"].pk, is_active=False
        ),
        "send_invitation": lambda u: staff.send_invitation(
            u, company=company, user_id=b["agent"].pk, base_url="http://testserver"
        ),
        "reset_staff_password": lambda u: staff.reset_staff_password(
            u, company=company, user_id=b["agent"].pk, base_url="http://testserver"
        ),
        "update_company_settings": lambda u: companies.update_company_settings(
            u, company=company, name="Mine now", agents_see_all_conversations=False
        ),
        "create_customer": lambda u: customers.create_customer(
            u, company_id=company_id, name="Planted"
        ),
        "update_customer_profile": lambda u: customers.update_customer_profile(
            u, company_id=company_id, customer_id=b["customer"].pk, name="Renamed", is_vip=True
        ),
        "save_customer (new)": lambda u: customers.save_customer(
            u, company_id=company_id, customer_id=None, fields={"name": "Planted"}
        ),
        "save_customer (edit)": lambda u: customers.save_customer(
            u, company_id=company_id, customer_id=b["customer"].pk, fields={"name": "Renamed"}
        ),
        "import_customers": lambda u: import_customers(u, company_id=company_id, content=CSV),
        "create_inbox": lambda u: inboxes.create_inbox(
            u, company=company, kind="whatsapp", name="Planted", credentials=WHATSAPP
        ),
        "update_inbox": lambda u: inboxes.update_inbox(
            u, company=company, inbox_id=b["inbox"].pk, name="Renamed", credentials=WHATSAPP
        ),
        "set_inbox_active": lambda u: inboxes.set_inbox_active(
            u, company=company, inbox_id=b["inbox"].pk, is_active=False
        ),
        "change_status": lambda u: conversations.change_status(u, **conv, status="closed"),
        "assign_conversation": lambda u: conversations.assign_conversation(
            u, **conv, assignee_id=None
        ),
        "undo_handover": lambda u: conversations.undo_handover(
            u,
            **conv,
            token=conversations.handover_undo_token(
                u, b["conversation"], previous_id=b["admin"].pk
            ),
        ),
        "mark_conversation_read": lambda u: conversations.mark_conversation_read(u, **conv),
        "send_agent_reply": lambda u: conversations.send_agent_reply(
            u, **conv, content="Hi", last_seen_message_id=None
        ),
        "retry_delivery": lambda u: conversations.retry_delivery(
            u, **conv, message_id=b["failed"].pk
        ),
        "reprocess_delivery": lambda u: reprocess_delivery(u, delivery_id=b["dead"].pk),
        "start_conversation": lambda u: conversations.start_conversation(
            u, company_id=company_id, channel="phone", customer_id=b["customer"].pk, content="Hi"
        ),
    }


SERVICES = [
    "create_staff_member",
    "update_staff_member",
    "set_staff_member_active",
    "send_invitation",
    "reset_staff_password",
    "update_company_settings",
    "create_customer",
    "update_customer_profile",
    "save_customer (new)",
    "save_customer (edit)",
    "import_customers",
    "create_inbox",
    "update_inbox",
    "set_inbox_active",
    "change_status",
    "assign_conversation",
    "undo_handover",
    "mark_conversation_read",
    "send_agent_reply",
    "retry_delivery",
    "start_conversation",
    "reprocess_delivery",
]
# services that find the company from the object they are given (a platform admin reaches any)
NO_COMPANY_ARGUMENT = {"reprocess_delivery"}


def test_every_service_is_in_the_list(theirs):
    assert sorted(calls(theirs)) == sorted(SERVICES)


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, Role.AGENT])
@pytest.mark.parametrize("service", SERVICES)
def test_a_user_of_company_a_cannot_act_in_company_b(theirs, service, role):
    actor = UserFactory(company=CompanyFactory(), role=role)
    before = snapshot(theirs["company"])
    with pytest.raises(NotFound):
        calls(theirs)[service](actor)
    assert snapshot(theirs["company"]) == before
    assert mail.outbox == []


@pytest.mark.parametrize("service", sorted(set(SERVICES) - NO_COMPANY_ARGUMENT))
def test_a_company_that_does_not_exist_is_the_same_not_found(theirs, service):
    """ "Not yours" and "missing" are one answer, whoever asks (a platform admin too)."""
    super_admin = UserFactory(company=None, role=Role.SUPER_ADMIN)
    missing = {**theirs, "company": Company(pk=theirs["company"].pk + 10_000)}
    with pytest.raises(NotFound):
        calls(missing)[service](super_admin)


def test_not_found_is_a_404_in_views_and_a_does_not_exist_in_code():
    assert issubclass(NotFound, Http404)
    from django.core.exceptions import ObjectDoesNotExist

    assert issubclass(NotFound, ObjectDoesNotExist)


def test_the_platform_services_refuse_a_company_admin_and_find_no_missing_company(theirs):
    admin = UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN)
    company = theirs["company"]
    before = snapshot(company)
    with pytest.raises(PermissionDenied):
        companies.set_company_active(admin, company_id=company.pk, is_active=False)
    with pytest.raises(PermissionDenied):
        companies.update_company_plan(admin, company_id=company.pk, subscription_plan="pro")
    assert snapshot(company) == before
    super_admin = UserFactory(company=None, role=Role.SUPER_ADMIN)
    with pytest.raises(NotFound):
        companies.set_company_active(super_admin, company_id=company.pk + 10_000, is_active=False)


def test_a_system_actor_acts_in_its_own_company_only(theirs):
    company = theirs["company"]
    actor = system_actor(company, reason="webhook delivery 1")
    assert acting_company_id(actor, company.pk) == company.pk
    with pytest.raises(NotFound):
        acting_company_id(actor, CompanyFactory().pk)
    # it is nobody's admin: the changes only people make stay refused
    with pytest.raises(PermissionDenied):
        inboxes.set_inbox_active(
            actor, company=company, inbox_id=theirs["inbox"].pk, is_active=False
        )
    conversation = conversations.change_status(
        actor, company_id=company.pk, conversation_id=theirs["conversation"].pk, status="resolved"
    )
    assert conversation.status == "resolved"


def test_a_deactivated_user_acts_nowhere(theirs):
    theirs["admin"].is_active = False
    with pytest.raises(NotFound):
        acting_company_id(theirs["admin"], theirs["company"].pk)


def test_a_user_still_acts_in_their_own_company(theirs):
    conversation = conversations.change_status(
        theirs["admin"],
        company_id=theirs["company"].pk,
        conversation_id=theirs["conversation"].pk,
        status="closed",
    )
    assert conversation.status == "closed"


def test_the_delivery_services_take_a_system_actor_of_the_message_company(theirs):

    from inboxes.channels import StatusUpdate

    failed, inbox = theirs["failed"], theirs["inbox"]
    Message.objects.filter(pk=failed.pk).update(
        delivery_status="sent", provider_message_id="wamid.1", inbox_id=inbox.pk
    )
    before = snapshot(theirs["company"])
    stranger = system_actor(CompanyFactory(), reason="another company's task")
    with pytest.raises(NotFound):
        conversations.record_delivery(
            stranger, company_id=theirs["company"].pk, message_id=failed.pk, status="failed"
        )
    update = StatusUpdate(provider_message_id="wamid.1", status="read", timestamp=timezone.now())
    with pytest.raises(NotFound):
        apply_status_update(stranger, inbox, update)
    assert snapshot(theirs["company"]) == before
    own = system_actor(theirs["company"], reason="status webhook")
    assert apply_status_update(own, inbox, update) is True
    assert Message.objects.get(pk=failed.pk).delivery_status == "read"


def test_an_inbound_message_for_another_company_is_refused(theirs):
    from conversations.services.inbound import receive_inbound_message
    from inboxes.channels import InboundMessage

    event = InboundMessage(
        provider_message_id="wamid.X",
        sender="15551230000",
        sender_name="Eve",
        timestamp=timezone.now(),
        text="Hi",
    )
    before = snapshot(theirs["company"])
    with pytest.raises(NotFound):
        receive_inbound_message(system_actor(CompanyFactory()), theirs["inbox"], event)
    assert snapshot(theirs["company"]) == before
