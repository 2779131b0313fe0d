"""Tenant isolation: scoped queries, 404 for other companies' objects, and keys in the database
that make a cross-company reference impossible."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Role
from conversations.models import Conversation, Message
from conversations.selectors import visible_conversations
from customers.models import Customer
from customers.selectors import customers_of
from inboxes.selectors import inboxes_of
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    CustomerFactory,
    InboxFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_for_company_returns_only_that_companys_rows():
    mine, theirs = CompanyFactory(), CompanyFactory()
    CustomerFactory.create_batch(2, company=mine)
    CustomerFactory.create_batch(3, company=theirs)
    assert Customer.objects.for_company(mine).count() == 2
    assert set(Customer.objects.for_company(theirs).values_list("company", flat=True)) == {
        theirs.pk
    }


@pytest.mark.parametrize(
    "selector, factory",
    [(customers_of, CustomerFactory), (inboxes_of, InboxFactory)],
)
def test_looking_up_another_companys_object_is_a_404(selector, factory):
    mine, theirs = CompanyFactory(), CompanyFactory()
    own = factory(company=mine)
    foreign = factory(company=theirs)
    assert get_object_or_404(selector(mine), pk=own.pk) == own
    with pytest.raises(Http404):
        get_object_or_404(selector(mine), pk=foreign.pk)


def test_an_agent_reads_every_conversation_of_the_company_and_no_other():
    company = CompanyFactory()
    agent = UserFactory(company=company, role=Role.AGENT)
    colleague = UserFactory(company=company, role=Role.AGENT)
    mine = ConversationFactory(company=company, assigned_user=agent)
    queue = ConversationFactory(company=company, assigned_user=None)
    theirs = ConversationFactory(company=company, assigned_user=colleague)
    ConversationFactory(company=CompanyFactory(), assigned_user=None)
    assert set(visible_conversations(agent, company)) == {mine, queue, theirs}
    assert not visible_conversations(agent, CompanyFactory()).exists()


def test_a_company_can_keep_agents_to_their_own_and_unassigned_conversations():
    company = CompanyFactory(agents_see_all_conversations=False)
    agent = UserFactory(company=company, role=Role.AGENT)
    colleague = UserFactory(company=company, role=Role.AGENT)
    mine = ConversationFactory(company=company, assigned_user=agent)
    queue = ConversationFactory(company=company, assigned_user=None)
    ConversationFactory(company=company, assigned_user=colleague)
    ConversationFactory(company=CompanyFactory(), assigned_user=None)
    assert set(visible_conversations(agent, company)) == {mine, queue}


def test_a_company_admin_sees_every_conversation_of_the_company_and_no_other():
    company = CompanyFactory()
    admin = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    ours = ConversationFactory.create_batch(3, company=company)
    ConversationFactory(company=CompanyFactory())
    assert set(visible_conversations(admin, company)) == set(ours)


def _commit_fails(create) -> None:
    """The tenant keys are deferred: a bad reference fails when the transaction commits."""
    with pytest.raises(IntegrityError, match="tenant_fk"), transaction.atomic():
        create()
        connection.check_constraints()  # SET CONSTRAINTS ALL IMMEDIATE: checks them now


def test_a_conversation_cannot_point_at_another_companys_customer():
    mine, theirs = CompanyFactory(), CompanyFactory()
    foreign_customer = CustomerFactory(company=theirs)
    _commit_fails(
        lambda: Conversation.objects.create(
            company=mine,
            customer=foreign_customer,
            channel="email",
            last_message_at=foreign_customer.created_at,
        )
    )


def test_a_conversation_cannot_be_assigned_to_another_companys_agent():
    conversation = ConversationFactory()
    outsider = UserFactory(company=CompanyFactory(), role=Role.AGENT)

    def assign():
        Conversation.objects.filter(pk=conversation.pk).update(assigned_user=outsider)

    _commit_fails(assign)


def test_a_message_cannot_join_another_companys_conversation():
    foreign = ConversationFactory()
    _commit_fails(
        lambda: Message.objects.create(
            company=CompanyFactory(),
            conversation=foreign,
            content="hi",
            sender_type="customer",
            timestamp=foreign.last_message_at,
        )
    )


def test_a_message_of_the_same_company_is_accepted():
    message = MessageFactory()
    with transaction.atomic():
        connection.check_constraints()
    assert message.company_id == message.conversation.company_id
