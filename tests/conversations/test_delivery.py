"""The outbound pipeline: one claim per attempt, bounded backoff, retries and failures with the
provider's words, the sweep for lost tasks, forward-only statuses, the reply window, files."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from companies.access import system_actor
from conversations import services
from conversations.models import Message, MessageAttachment
from conversations.services import delivery
from conversations.tasks import deliver_message
from customers.models import CustomerIdentity
from inboxes.channels import SendError, StatusUpdate
from inboxes.local_providers.graph import LocalGraphServer
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    InboxFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
WA_ID = "15551234567"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def graph(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PROVIDER_TIMEOUT_SECONDS = 1
    settings.DELIVERY_MAX_ATTEMPTS = 4
    with LocalGraphServer() as server:
        settings.GRAPH_API_BASE_URL = server.url
        yield server


@pytest.fixture
def chat():
    """A WhatsApp conversation whose customer wrote a minute ago, and its agent."""
    company = CompanyFactory()
    agent = UserFactory(company=company, role=Role.AGENT)
    inbox = InboxFactory(
        company=company, credentials={"phone_number_id": "10987", "access_token": "tok"}
    )
    conversation = ConversationFactory(company=company, inbox=inbox, assigned_user=agent)
    CustomerIdentity.objects.create(
        company=company, customer=conversation.customer, kind="wa_id", value=WA_ID
    )
    asked = MessageFactory(
        conversation=conversation,
        inbox=inbox,
        provider_message_id="wamid.ASKED",
        timestamp=timezone.now() - timedelta(minutes=1),
    )
    return {"agent": agent, "inbox": inbox, "conversation": conversation, "asked": asked}


def reply(chat, content="Your order shipped.", **extra) -> Message:
    conversation = chat["conversation"]
    newest = Message.objects.filter(conversation=conversation).order_by("-id").first()
    return services.send_agent_reply(
        chat["agent"],
        company_id=conversation.company_id,
        conversation_id=conversation.pk,
        content=content,
        last_seen_message_id=newest.pk,
        **extra,
    )


def deliver(message: Message) -> Message:
    deliver_message.call(company_id=message.company_id, message_id=message.pk)
    message.refresh_from_db()
    return message


def make_due(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


# --- the claim


def test_two_claims_of_one_message_give_one_worker(chat):
    message = reply(chat)
    first = delivery.claim_message(company_id=message.company_id, message_id=message.pk)
    second = delivery.claim_message(company_id=message.company_id, message_id=message.pk)
    assert first is not None and first.attempt == 1
    assert second is None


@pytest.mark.django_db(transaction=True)
def test_workers_racing_for_a_message_at_the_same_moment_get_it_once(chat):
    message = reply(chat)
    barrier = threading.Barrier(8)
    claims = []

    def worker() -> None:
        barrier.wait()
        claims.append(delivery.claim_message(company_id=message.company_id, message_id=message.pk))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([claim for claim in claims if claim is not None]) == 1


def test_an_expired_lease_can_be_claimed_again_and_a_future_retry_cannot(chat, settings):
    message = reply(chat)
    now = timezone.now()
    assert delivery.claim_message(company_id=message.company_id, message_id=message.pk, now=now)
    later = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    taken_over = delivery.claim_message(
        company_id=message.company_id, message_id=message.pk, now=later
    )
    assert taken_over is not None and taken_over.attempt == 2
    Message.objects.filter(pk=message.pk).update(
        claimed_until=None, next_attempt_at=later + timedelta(minutes=5)
    )
    assert (
        delivery.claim_message(company_id=message.company_id, message_id=message.pk, now=later)
        is None
    )


def test_a_worker_whose_lease_was_taken_over_writes_nothing_and_the_first_id_stays(chat, settings):
    message = reply(chat)
    now = timezone.now()
    stale = delivery.claim_message(company_id=message.company_id, message_id=message.pk, now=now)
    later = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    current = delivery.claim_message(
        company_id=message.company_id, message_id=message.pk, now=later
    )
    assert delivery.record_failure(stale, SendError("late timeout")) is None
    assert delivery.record_sent(current, "wamid.FIRST")
    assert not delivery.record_sent(stale, "wamid.SECOND")
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    assert message.provider_message_id == "wamid.FIRST"
    assert message.last_error == ""


# --- backoff


def test_the_backoff_grows_exponentially_with_jitter_and_stays_bounded(settings):
    settings.DELIVERY_RETRY_BASE_SECONDS = 2
    settings.DELIVERY_RETRY_MAX_SECONDS = 300
    for attempt in range(1, 30):
        ceiling = min(300, 2 * 2 ** (attempt - 1))
        delays = {delivery.retry_delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1  # jittered: workers retrying together spread out
    assert max(delivery.retry_delay(50) for _ in range(100)) <= 300


def test_a_retry_after_is_honoured_up_to_its_cap(settings):
    settings.DELIVERY_RETRY_AFTER_MAX_SECONDS = 600
    assert delivery.retry_delay(1, retry_after=45) == 45
    assert delivery.retry_delay(1, retry_after=10_000) == 600


# --- the task against the local Graph API


def test_a_reply_goes_to_the_customers_wa_id_and_is_sent_with_the_provider_id(graph, chat):
    message = deliver(reply(chat))
    [request] = graph.sends()
    assert request.json["to"] == WA_ID
    assert request.json["text"]["body"] == "Your order shipped."
    assert message.delivery_status == "sent"
    assert message.provider_message_id.startswith("wamid.LOCAL")
    assert message.delivery_attempts == 1 and message.claimed_until is None


def test_a_reply_to_a_customer_message_carries_its_context(graph, chat):
    message = deliver(reply(chat, reply_to_id=chat["asked"].pk))
    assert message.reply_to_id == chat["asked"].pk
    assert graph.sends()[0].json["context"] == {"message_id": "wamid.ASKED"}


def test_a_reply_to_another_conversations_message_is_refused(chat):
    elsewhere = MessageFactory(conversation=ConversationFactory(company=chat["inbox"].company))
    with pytest.raises(ValidationError) as refused:
        reply(chat, reply_to_id=elsewhere.pk)
    assert refused.value.code == "reply_to"
    assert not Message.objects.filter(sender_type="agent").exists()


def test_a_server_error_schedules_a_retry_and_requeues_the_task(graph, chat):
    graph.fail_next(500, code=1, message="An unknown error occurred")
    before = timezone.now()
    message = deliver(reply(chat))
    assert message.delivery_status == "pending"
    assert message.delivery_attempts == 1 and message.claimed_until is None
    assert message.next_attempt_at > before
    assert message.last_error_code == "1" and "unknown error" in message.last_error
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(args_kwargs__kwargs__message_id=message.pk)
    assert queued.filter(run_after=message.next_attempt_at).exists()
    assert deliver(message).delivery_status == "pending"  # not due yet: not even tried
    assert len(graph.sends()) == 1
    make_due(message)
    message = deliver(message)
    assert message.delivery_status == "sent" and message.last_error == ""
    assert len(graph.accepted_sends()) == 1


def test_a_rate_limit_waits_at_least_the_retry_after(graph, chat):
    graph.fail_next(429, code=130429, message="Rate limit hit", retry_after="30")
    before = timezone.now()
    message = deliver(reply(chat))
    assert message.delivery_status == "pending"
    assert message.next_attempt_at >= before + timedelta(seconds=30)


def test_outside_the_window_by_the_providers_word_fails_at_once_with_its_code(graph, chat):
    graph.fail_next(400, code=131047, message="Re-engagement message")
    message = deliver(reply(chat))
    assert message.delivery_status == "failed"
    assert message.last_error_code == "131047" and "Re-engagement" in message.last_error
    assert message.next_attempt_at is None


def test_a_hanging_provider_times_out_and_is_retried(graph, chat):
    graph.fail_next(0, delay=5)
    message = deliver(reply(chat))
    assert message.delivery_status == "pending" and message.last_error_code == "timeout"


def test_too_many_retryable_failures_end_failed_with_the_last_reason(graph, chat, settings):
    graph.fail_next(503, times=10, code=2, message="Service temporarily unavailable")
    message = reply(chat)
    for _ in range(settings.DELIVERY_MAX_ATTEMPTS):
        make_due(message)
        message = deliver(message)
    assert message.delivery_status == "failed"
    assert message.delivery_attempts == settings.DELIVERY_MAX_ATTEMPTS
    assert message.last_error.startswith("Gave up after 4 attempts.")
    assert "temporarily unavailable" in message.last_error


def test_a_message_whose_workers_keep_dying_is_given_up(chat, settings):
    message = reply(chat)
    Message.objects.filter(pk=message.pk).update(
        delivery_attempts=settings.DELIVERY_MAX_ATTEMPTS, last_error="timed out"
    )
    message = deliver(message)
    assert message.delivery_status == "failed"
    assert message.last_error.startswith("Gave up after")
    assert message.last_error.endswith("timed out")


def test_retry_after_failure_starts_over(graph, chat):
    graph.fail_next(400, code=131026, message="Message undeliverable")
    message = deliver(reply(chat))
    assert message.delivery_status == "failed"
    services.retry_delivery(
        chat["agent"],
        company_id=message.company_id,
        conversation_id=message.conversation_id,
        message_id=message.pk,
    )
    message.refresh_from_db()
    assert message.delivery_attempts == 0 and message.last_error_code == ""
    assert deliver(message).delivery_status == "sent"


# --- the sweep


def test_the_sweep_finds_expired_leases_and_tasks_that_never_ran(chat, settings):
    settings.DELIVERY_LEASE_SECONDS = 30
    settings.DELIVERY_SWEEP_AFTER_SECONDS = 60
    now = timezone.now()
    dead_worker = reply(chat, "one")
    delivery.claim_message(company_id=dead_worker.company_id, message_id=dead_worker.pk, now=now)
    never_ran = reply(chat, "two")
    Message.objects.filter(pk=never_ran.pk).update(created_at=now - timedelta(minutes=5))
    waiting = reply(chat, "three")
    Message.objects.filter(pk=waiting.pk).update(
        created_at=now - timedelta(minutes=5), next_attempt_at=now + timedelta(minutes=1)
    )
    fresh = reply(chat, "four")
    assert delivery.lost_deliveries(now=now) == [(never_ran.company_id, never_ran.pk)]
    after_lease = now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    lost = {pk for _, pk in delivery.lost_deliveries(now=after_lease)}
    assert dead_worker.pk in lost and never_ran.pk in lost
    assert waiting.pk not in lost and fresh.pk not in lost


def test_the_sweep_command_queues_lost_messages(chat):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    message = reply(chat)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(hours=1))
    call_command("sweep_deliveries", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert DBTaskResult.objects.filter(args_kwargs__kwargs__message_id=message.pk).exists()


# --- status callbacks


def status(inbox, wamid: str, state: str, **extra) -> bool:
    update = StatusUpdate(
        provider_message_id=wamid, status=state, timestamp=timezone.now(), **extra
    )
    return delivery.apply_status_update(system_actor(inbox.company_id), inbox, update)


def sent_message(chat, wamid="wamid.OUT1") -> Message:
    message = reply(chat)
    Message.objects.filter(pk=message.pk).update(delivery_status="sent", provider_message_id=wamid)
    return message


def test_statuses_only_move_forward(chat):
    message = sent_message(chat)
    inbox = chat["inbox"]
    assert status(inbox, "wamid.OUT1", "read")
    assert not status(inbox, "wamid.OUT1", "delivered")  # late, out of order
    assert not status(inbox, "wamid.OUT1", "sent")
    assert not status(inbox, "wamid.OUT1", "failed", error_code="131000")
    message.refresh_from_db()
    assert message.delivery_status == "read" and message.status_changed_at is not None


def test_a_failed_status_keeps_the_providers_code_and_text(chat):
    message = sent_message(chat)
    assert status(
        chat["inbox"], "wamid.OUT1", "failed", error_code="131026", error_text="Undeliverable"
    )
    assert not status(chat["inbox"], "wamid.OUT1", "delivered")
    message.refresh_from_db()
    assert (message.delivery_status, message.last_error_code) == ("failed", "131026")
    assert message.last_error == "Undeliverable"


def test_a_status_for_another_companys_or_inboxs_message_changes_nothing(chat):
    message = sent_message(chat)
    other_company_inbox = InboxFactory(company=CompanyFactory())
    same_company_other_inbox = InboxFactory(company=chat["inbox"].company)
    assert not status(other_company_inbox, "wamid.OUT1", "delivered")
    assert not status(same_company_other_inbox, "wamid.OUT1", "delivered")
    assert not status(chat["inbox"], "", "delivered")
    message.refresh_from_db()
    assert message.delivery_status == "sent"


# --- the 24-hour window


def test_a_reply_outside_the_24_hour_window_is_refused_and_nothing_is_stored(chat):
    Message.objects.filter(pk=chat["asked"].pk).update(
        timestamp=timezone.now() - timedelta(hours=25)
    )
    with pytest.raises(services.OutsideReplyWindow) as refused:
        reply(chat)
    assert "24 hours" in refused.value.messages[0]
    assert refused.value.code == "outside_window"
    assert not Message.objects.filter(sender_type="agent").exists()


def test_a_reply_within_the_window_or_on_a_channel_without_one_goes(chat):
    Message.objects.filter(pk=chat["asked"].pk).update(
        timestamp=timezone.now() - timedelta(hours=23)
    )
    assert reply(chat).delivery_status == "pending"
    email = ConversationFactory(
        company=chat["inbox"].company,
        inbox=InboxFactory(company=chat["inbox"].company, kind="email"),
        channel="email",
        assigned_user=chat["agent"],
    )
    message = services.send_agent_reply(
        chat["agent"],
        company_id=email.company_id,
        conversation_id=email.pk,
        content="Hello",
        last_seen_message_id=None,
    )
    assert message.delivery_status == "pending"


# --- files


def upload(content: bytes = PNG, name: str = "box.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_an_attached_image_is_stored_and_sent_through_the_adapter(graph, chat):
    message = reply(chat, "", attachment=upload())
    [attachment] = MessageAttachment.objects.filter(message=message)
    assert attachment.state == "stored" and attachment.kind == "image"
    assert attachment.file.read() == PNG and attachment.filename == "box.png"
    assert message.kind == "image"
    message = deliver(message)
    assert message.delivery_status == "sent"
    assert graph.uploads() == [(PNG, "image/png")]
    assert graph.sends()[0].json["type"] == "image"


@pytest.mark.parametrize(
    "file, code",
    [
        (upload(b"MZ\x90\x00", "invoice.pdf", "application/pdf"), "file_type"),
        (upload(b"hello", "notes.txt", "text/plain"), "file_type"),
        (upload(b"", "empty.png"), "empty_file"),
    ],
)
def test_a_wrong_file_is_refused_with_the_reason_and_nothing_stored(chat, file, code):
    with pytest.raises(ValidationError) as refused:
        reply(chat, "see attached", attachment=file)
    assert refused.value.code == code
    assert not Message.objects.filter(sender_type="agent").exists()


def test_a_file_over_the_limit_is_refused(chat, settings):
    settings.OUTBOUND_ATTACHMENT_MAX_BYTES = 50
    with pytest.raises(ValidationError) as refused:
        reply(chat, attachment=upload())
    assert refused.value.code == "file_too_large"
    assert "at most" in refused.value.messages[0]


def test_starting_a_whatsapp_conversation_with_a_customer_who_never_wrote_is_refused(chat):
    from conversations.models import Conversation
    from tests.factories import CustomerFactory

    company = chat["inbox"].company
    stranger = CustomerFactory(company=company, whatsapp_number="+15550001111")
    with pytest.raises(services.OutsideReplyWindow) as refused:
        services.start_conversation(
            chat["agent"],
            company_id=company.pk,
            channel="whatsapp",
            customer_id=stranger.pk,
            inbox_id=chat["inbox"].pk,
            content="Hello from us",
        )
    assert "has not written to this inbox yet" in refused.value.messages[0]
    assert not Conversation.objects.filter(customer=stranger).exists()
