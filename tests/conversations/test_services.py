import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from conversations import services
from conversations.models import Conversation, Message
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    CustomerFactory,
    InboxFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    company = CompanyFactory()
    agent = UserFactory(company=company, role=Role.AGENT)
    conversation = ConversationFactory(company=company, assigned_user=None)
    first = MessageFactory(conversation=conversation, is_read=False)
    Conversation.objects.filter(pk=conversation.pk).update(unread_count=1)
    conversation.refresh_from_db()
    return company, agent, conversation, first


def reply(agent, conversation, content="Thanks, looking into it.", last_seen=None):
    return services.send_agent_reply(
        agent,
        company_id=conversation.company_id,
        conversation_id=conversation.pk,
        content=content,
        last_seen_message_id=last_seen,
    )


def test_a_reply_is_stored_pending_and_claims_the_unassigned_conversation(
    setup, django_capture_on_commit_callbacks
):
    company, agent, conversation, first = setup
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = reply(agent, conversation, last_seen=first.pk)
    conversation.refresh_from_db()
    assert message.delivery_status == Message.DeliveryStatus.PENDING
    assert message.sender_user == agent
    assert conversation.assigned_user == agent
    assert conversation.status == Conversation.Status.IN_PROGRESS
    assert conversation.last_message_at == message.timestamp
    assert conversation.unread_count == 0
    assert len(callbacks) == 1  # the delivery task is queued only once the reply is committed


def test_the_delivery_task_runs_after_commit_and_says_why_it_failed(
    setup, django_capture_on_commit_callbacks
):
    company, agent, conversation, first = setup
    with django_capture_on_commit_callbacks(execute=True):
        message = reply(agent, conversation, last_seen=first.pk)
    from conversations.tasks import deliver_message

    deliver_message.call(company_id=company.pk, message_id=message.pk)
    message.refresh_from_db()
    assert message.delivery_status == Message.DeliveryStatus.FAILED
    assert "no phone number ID or access token" in message.last_error
    assert message.last_error_code == "credentials"
    assert message.delivery_attempts == 1


def test_a_failed_message_can_be_retried(setup):
    company, agent, conversation, first = setup
    message = reply(agent, conversation, last_seen=first.pk)
    Message.objects.filter(pk=message.pk).update(delivery_status="failed", last_error="boom")
    retry = {"company_id": company.pk, "conversation_id": conversation.pk, "message_id": message.pk}
    services.retry_delivery(agent, **retry)
    message.refresh_from_db()
    assert message.delivery_status == "pending"
    assert message.last_error == ""
    with pytest.raises(ValidationError):
        services.retry_delivery(agent, **retry)


def test_a_retry_of_an_unknown_message_or_another_conversations_is_refused(setup):
    company, agent, conversation, first = setup
    other = ConversationFactory(company=company, assigned_user=agent)
    theirs = MessageFactory(conversation=other, sender_type="agent", delivery_status="failed")
    for message_id in (10**12, theirs.pk):
        with pytest.raises(Message.DoesNotExist):
            services.retry_delivery(
                agent,
                company_id=company.pk,
                conversation_id=conversation.pk,
                message_id=message_id,
            )
    theirs.refresh_from_db()
    assert theirs.delivery_status == "failed"


@pytest.mark.parametrize(
    "content, code",
    [("", "empty"), ("   \n  ", "empty"), ("x" * 5001, "too_long")],
)
def test_a_reply_must_be_1_to_5000_characters(setup, content, code):
    company, agent, conversation, first = setup
    with pytest.raises(ValidationError) as error:
        reply(agent, conversation, content=content, last_seen=first.pk)
    assert error.value.code == code
    assert Message.objects.filter(sender_type="agent").count() == 0


def test_a_reply_of_exactly_5000_characters_is_accepted(setup):
    company, agent, conversation, first = setup
    assert len(reply(agent, conversation, content="y" * 5000, last_seen=first.pk).content) == 5000


def test_the_send_guard_refuses_a_reply_when_newer_messages_arrived(setup):
    company, agent, conversation, first = setup
    newer = MessageFactory(conversation=conversation, content="Actually, it arrived!")
    with pytest.raises(services.NewActivity) as refused:
        reply(agent, conversation, last_seen=first.pk)
    assert refused.value.new_messages == [newer]
    assert not Message.objects.filter(sender_type="agent").exists()
    reply(agent, conversation, last_seen=newer.pk)  # after review it goes through


def test_a_colleagues_conversation_is_read_only_to_an_agent(setup):
    """The agent may read it, but every change is refused with the reason, even when crafted."""
    company, agent, conversation, first = setup
    colleague = UserFactory(company=company, role=Role.AGENT, first_name="Ben")
    Conversation.objects.filter(pk=conversation.pk).update(assigned_user=colleague)
    ids = {"company_id": company.pk, "conversation_id": conversation.pk}
    changes = [
        lambda: reply(agent, conversation, last_seen=first.pk),
        lambda: services.change_status(agent, **ids, status="resolved"),
        lambda: services.assign_conversation(agent, **ids, assignee_id=agent.pk),
        lambda: services.assign_conversation(agent, **ids, assignee_id=None),
        lambda: services.mark_conversation_read(agent, **ids),
    ]
    for change in changes:
        with pytest.raises(services.ReadOnlyConversation, match="Ben is assigned"):
            change()
    conversation.refresh_from_db()
    assert (conversation.assigned_user, conversation.status) == (colleague, "new")
    assert conversation.unread_count == 1
    assert not Message.objects.filter(sender_type="agent").exists()


def test_agents_kept_to_their_own_do_not_even_find_a_colleagues_conversation(setup):
    company, agent, conversation, first = setup
    company.agents_see_all_conversations = False
    company.save()
    agent.refresh_from_db()
    colleague = UserFactory(company=company, role=Role.AGENT)
    Conversation.objects.filter(pk=conversation.pk).update(assigned_user=colleague)
    with pytest.raises(Conversation.DoesNotExist):
        reply(agent, conversation, last_seen=first.pk)


def test_nobody_replies_across_companies(setup):
    company, agent, conversation, first = setup
    outsider = UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN)
    with pytest.raises(Conversation.DoesNotExist):
        services.send_agent_reply(
            outsider,
            company_id=outsider.company_id,
            conversation_id=conversation.pk,
            content="hi",
            last_seen_message_id=first.pk,
        )


def test_assignment_only_to_active_staff_of_the_same_company(setup):
    company, agent, conversation, first = setup
    colleague = UserFactory(company=company, role=Role.AGENT)
    outsider = UserFactory(company=CompanyFactory(), role=Role.AGENT)
    inactive = UserFactory(company=company, role=Role.AGENT, is_active=False)
    for bad in (outsider, inactive):
        with pytest.raises(ValidationError):
            services.assign_conversation(
                agent, company_id=company.pk, conversation_id=conversation.pk, assignee_id=bad.pk
            )
    services.assign_conversation(
        agent, company_id=company.pk, conversation_id=conversation.pk, assignee_id=colleague.pk
    )
    conversation.refresh_from_db()
    assert conversation.assigned_user == colleague
    # now it is the colleague's: the first agent may read it but not take it back
    with pytest.raises(services.ReadOnlyConversation):
        services.assign_conversation(
            agent, company_id=company.pk, conversation_id=conversation.pk, assignee_id=agent.pk
        )


def hand_over(agent, conversation, to):
    before = conversation.assigned_user_id
    conversation = services.assign_conversation(
        agent,
        company_id=conversation.company_id,
        conversation_id=conversation.pk,
        assignee_id=to.pk,
    )
    return services.handover_undo_token(agent, conversation, previous_id=before)


def test_a_handover_can_be_undone_by_whoever_made_it(setup):
    company, agent, conversation, first = setup
    Conversation.objects.filter(pk=conversation.pk).update(assigned_user=agent)
    conversation.refresh_from_db()
    colleague = UserFactory(company=company, role=Role.AGENT)
    token = hand_over(agent, conversation, colleague)
    ids = {"company_id": company.pk, "conversation_id": conversation.pk}
    stranger = UserFactory(company=company, role=Role.AGENT)
    with pytest.raises(ValidationError, match="not valid"):
        services.undo_handover(stranger, **ids, token=token)  # not theirs to undo
    with pytest.raises(ValidationError, match="not valid"):
        services.undo_handover(agent, **ids, token=token + "x")
    services.undo_handover(agent, **ids, token=token)
    conversation.refresh_from_db()
    assert conversation.assigned_user == agent
    # the colleague already had it back and forth: an old undo does not undo newer changes
    with pytest.raises(ValidationError, match="changed the assignment"):
        services.undo_handover(agent, **ids, token=token)


def test_an_undo_is_refused_once_someone_else_reassigned_or_it_expired(setup, monkeypatch):
    company, agent, conversation, first = setup
    colleague = UserFactory(company=company, role=Role.AGENT)
    admin = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    token = hand_over(agent, conversation, colleague)
    ids = {"company_id": company.pk, "conversation_id": conversation.pk}
    services.assign_conversation(admin, **ids, assignee_id=admin.pk)
    with pytest.raises(ValidationError, match="changed the assignment"):
        services.undo_handover(agent, **ids, token=token)
    conversation.refresh_from_db()
    assert conversation.assigned_user == admin
    token = hand_over(admin, conversation, colleague)
    monkeypatch.setattr(services.workflow, "HANDOVER_UNDO_SECONDS", -1)
    with pytest.raises(ValidationError, match="too old"):
        services.undo_handover(admin, **ids, token=token)


def test_a_company_admin_reassigns_anything_in_the_company(setup):
    company, agent, conversation, first = setup
    admin = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    colleague = UserFactory(company=company, role=Role.AGENT)
    Conversation.objects.filter(pk=conversation.pk).update(assigned_user=colleague)
    services.assign_conversation(
        admin, company_id=company.pk, conversation_id=conversation.pk, assignee_id=agent.pk
    )
    services.assign_conversation(
        admin, company_id=company.pk, conversation_id=conversation.pk, assignee_id=None
    )
    conversation.refresh_from_db()
    assert conversation.assigned_user is None


def test_status_changes_and_refuses_an_unknown_status(setup):
    company, agent, conversation, first = setup
    services.change_status(
        agent, company_id=company.pk, conversation_id=conversation.pk, status="resolved"
    )
    conversation.refresh_from_db()
    assert conversation.status == "resolved"
    with pytest.raises(ValidationError):
        services.change_status(
            agent, company_id=company.pk, conversation_id=conversation.pk, status="done"
        )


def test_marking_read_clears_the_badge_and_the_messages(setup):
    company, agent, conversation, first = setup
    before = conversation.updated_at
    services.mark_conversation_read(agent, company_id=company.pk, conversation_id=conversation.pk)
    conversation.refresh_from_db()
    first.refresh_from_db()
    assert conversation.unread_count == 0
    assert first.is_read
    assert conversation.updated_at > before  # pollers notice


def test_start_a_conversation_with_a_new_customer_by_email():
    company = CompanyFactory()
    agent = UserFactory(company=company, role=Role.AGENT)
    inbox = InboxFactory(company=company, kind="email")
    conversation = services.start_conversation(
        agent,
        company_id=company.pk,
        channel="email",
        new_customer=services.NewCustomer(name="Nia Mensah", email="nia@example.com"),
        inbox_id=inbox.pk,
        subject="Your order",
        content="Hello Nia, your order has shipped.",
    )
    assert conversation.customer.email == "nia@example.com"
    assert conversation.assigned_user == agent
    message = conversation.messages.get()
    assert message.delivery_status == "pending"


def test_log_a_phone_call_with_an_existing_customer():
    company = CompanyFactory()
    agent = UserFactory(company=company, role=Role.AGENT)
    customer = CustomerFactory(company=company, phone="+14155550100")
    conversation = services.start_conversation(
        agent,
        company_id=company.pk,
        channel="phone",
        customer_id=customer.pk,
        content="Called about the refund; promised an answer by Friday.",
    )
    assert conversation.inbox is None
    assert conversation.messages.get().delivery_status == "sent"  # nothing to deliver


def test_start_refuses_a_duplicate_identity_and_stores_nothing():
    company = CompanyFactory()
    agent = UserFactory(company=company, role=Role.AGENT)
    CustomerFactory(company=company, name="Maria", email="maria@example.com")
    with pytest.raises(ValidationError) as error:
        services.start_conversation(
            agent,
            company_id=company.pk,
            channel="email",
            new_customer=services.NewCustomer(name="Other", email="MARIA@example.com"),
            content="hi",
        )
    assert "Maria already has this email" in str(error.value)
    assert Conversation.objects.count() == 0


def test_start_refuses_another_companys_customer():
    company = CompanyFactory()
    agent = UserFactory(company=company, role=Role.AGENT)
    foreign = CustomerFactory(company=CompanyFactory())
    with pytest.raises(ValidationError):
        services.start_conversation(
            agent, company_id=company.pk, channel="phone", customer_id=foreign.pk, content="hi"
        )


def test_the_reply_holds_a_row_lock_on_the_conversation(setup):
    company, agent, conversation, first = setup
    with CaptureQueriesContext(connection) as queries:
        reply(agent, conversation, last_seen=first.pk)
    assert any("FOR UPDATE" in q["sql"] for q in queries.captured_queries)
