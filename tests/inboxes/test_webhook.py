"""The webhook address: the handshake, signatures, limits, one stored delivery per verified POST,
and what processing makes of it (customers, conversations, statuses, dead letters)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from companies.access import NotFound
from conversations.models import Conversation, Message, MessageAttachment
from customers.models import Customer, CustomerIdentity
from inboxes.inbound import process_webhook_delivery, reprocess_delivery
from inboxes.models import WebhookDelivery
from tests.factories import ConversationFactory, CustomerFactory, MessageFactory
from tests.inboxes.whatsapp_helpers import (
    PHONE_NUMBER_ID,
    body_of,
    fixture,
    message_payload,
    post_signed,
    webhook_url,
    whatsapp_inbox,
)


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def inbox(company):
    return whatsapp_inbox(company)


def deliver(client, inbox, payload, capture, **kwargs):
    """Post a signed delivery and run what it enqueues on commit (processing, downloads)."""
    with capture(execute=True):
        return post_signed(client, inbox, payload, **kwargs)


# --- the address


def test_the_handshake_answers_the_challenge(client, inbox):
    response = client.get(
        webhook_url(inbox),
        {"hub.mode": "subscribe", "hub.verify_token": inbox.verify_token, "hub.challenge": "42"},
    )
    assert response.status_code == 200
    assert response.content == b"42"


def test_the_handshake_with_a_wrong_token_is_403(client, inbox):
    response = client.get(
        webhook_url(inbox),
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "42"},
    )
    assert response.status_code == 403


def test_an_unknown_key_is_404(client, inbox):
    for key in (
        f"{inbox.company_id}-nope",
        "nope",
        f"{inbox.company_id + 1}-{inbox.webhook_key}",
        f"{inbox.company_id}-a%00b",
        f"{'9' * 30}-{inbox.webhook_key}",
        f"²-{inbox.webhook_key}",
    ):
        response = client.post(f"/webhooks/whatsapp/{key}/", b"{}", content_type="application/json")
        assert response.status_code == 404
    response = client.post(
        webhook_url(inbox).replace("/whatsapp/", "/email/"), b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert not WebhookDelivery.objects.exists()


def test_an_inactive_inbox_or_company_is_410(client, inbox):
    inbox.is_active = False
    inbox.save()
    assert post_signed(client, inbox, fixture("text")).status_code == 410
    inbox.is_active = True
    inbox.save()
    inbox.company.is_active = False
    inbox.company.save()
    assert post_signed(client, inbox, fixture("text")).status_code == 410
    assert not WebhookDelivery.objects.exists()


def test_the_inbox_page_shows_the_webhook_address(company_admin, inbox):
    client = Client()
    client.force_login(company_admin)
    response = client.get(f"/company/inboxes/{inbox.pk}/")
    assert webhook_url(inbox) in response.content.decode()


# --- signatures: nothing stored unless Meta signed it


def test_a_missing_signature_is_403_and_nothing_is_stored(client, inbox):
    response = client.post(
        webhook_url(inbox), body_of(fixture("text")), content_type="application/json"
    )
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_a_wrong_signature_is_403_and_nothing_is_stored(client, inbox):
    assert post_signed(client, inbox, fixture("text"), secret="wrong").status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_a_signature_of_a_body_changed_by_one_byte_is_403(client, inbox):
    body = body_of(fixture("text"))
    from inboxes.channels.meta import signature_of

    signature = signature_of(body, "app-secret-123")
    tampered = body.replace(b"Hello", b"Jello")
    response = client.generic(
        "POST",
        webhook_url(inbox),
        tampered,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature,
    )
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_a_verified_delivery_is_stored_raw_and_answered_at_once(
    client, inbox, django_capture_on_commit_callbacks
):
    body = body_of(fixture("text"))
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_signed(client, inbox, body)
    assert response.status_code == 200
    [delivery] = WebhookDelivery.objects.all()
    assert bytes(delivery.body) == body
    assert delivery.content_type == "application/json"
    assert delivery.state == WebhookDelivery.State.RECEIVED
    assert len(callbacks) == 1  # processing is enqueued once the INSERT commits
    assert not Message.objects.exists()  # nothing processed in the request


def test_the_webhook_view_makes_two_queries(client, inbox, django_assert_num_queries):
    with django_assert_num_queries(2):  # the inbox lookup, the INSERT
        assert post_signed(client, inbox, fixture("text")).status_code == 200


# --- bad input: a clear 4xx or a dead letter, and the next good delivery is stored


def test_a_body_over_the_limit_is_413_without_storing(client, inbox, settings):
    settings.WEBHOOK_MAX_BYTES = 5 * 1024 * 1024
    body = b'{"pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert post_signed(client, inbox, body).status_code == 413
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "application/json", "recursion limit"),
        (None, "application/x-www-form-urlencoded", "content type"),
    ],
    ids=["malformed JSON", "nested 10,000 deep", "wrong content type"],
)
def test_bad_deliveries_become_dead_letters_and_the_next_good_one_is_stored(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks, body, content_type, reason
):
    body = body or body_of(fixture("text"))
    response = deliver(
        client, inbox, body, django_capture_on_commit_callbacks, content_type=content_type
    )
    assert response.status_code == 200
    [dead] = WebhookDelivery.objects.all()
    assert dead.state == WebhookDelivery.State.DEAD
    assert reason in dead.reason
    assert not Message.objects.exists()

    deliver(client, inbox, message_payload("wamid.NEXT"), django_capture_on_commit_callbacks)
    assert Message.objects.get().provider_message_id == "wamid.NEXT"


def test_a_dead_letter_can_be_reprocessed_by_a_company_admin(
    client, inbox, company_admin, immediate_tasks, django_capture_on_commit_callbacks
):
    deliver(client, inbox, message_payload("wamid.LATE"), django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    Message.objects.all().delete()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="dead", reason="was broken")
    with django_capture_on_commit_callbacks(execute=True):
        reprocess_delivery(company_admin, delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.PROCESSED
    assert Message.objects.get().provider_message_id == "wamid.LATE"


def test_another_companys_admin_cannot_reprocess(client, inbox, other_company):
    from accounts.models import Role
    from tests.factories import UserFactory

    WebhookDelivery.objects.create(
        company=inbox.company, inbox=inbox, received_at="2026-01-01T00:00Z", body=b"x", state="dead"
    )
    outsider = UserFactory(company=other_company, role=Role.COMPANY_ADMIN)
    with pytest.raises(NotFound):
        reprocess_delivery(outsider, delivery_id=WebhookDelivery.objects.get().pk)


def test_a_wrong_phone_number_id_changes_nothing_and_says_why(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    payload = message_payload("wamid.ELSEWHERE")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    deliver(client, inbox, payload, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == WebhookDelivery.State.IGNORED
    assert "999" in delivery.reason and PHONE_NUMBER_ID in delivery.reason
    assert not Message.objects.exists()
    assert not Customer.objects.exists()


# --- inbound messages


def test_a_first_message_creates_the_customer_and_a_new_conversation(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    deliver(client, inbox, fixture("text"), django_capture_on_commit_callbacks)
    customer = Customer.objects.get()
    assert customer.name == "Ana Souza"
    assert customer.whatsapp_number == "+15551234567"
    assert CustomerIdentity.objects.get().value == "15551234567"
    conversation = Conversation.objects.get()
    assert conversation.status == Conversation.Status.NEW
    assert conversation.inbox == inbox
    assert conversation.unread_count == 1
    message = conversation.messages.get()
    assert message.content == "Hello, is my order on its way?"
    assert message.sender_type == Message.SenderType.CUSTOMER
    assert conversation.last_message_at == message.timestamp
    assert WebhookDelivery.objects.get().state == WebhookDelivery.State.PROCESSED


def test_a_known_customer_with_a_plus_in_their_number_is_found(
    client, inbox, company, immediate_tasks, django_capture_on_commit_callbacks
):
    from customers.services import save_customer

    admin = __import__("tests.factories", fromlist=["UserFactory"]).UserFactory(
        company=company, role="company_admin"
    )
    known = save_customer(
        admin,
        company_id=company.pk,
        customer_id=None,
        fields={"name": "Known Ana", "whatsapp_number": "+15551234567"},
    )
    deliver(client, inbox, fixture("text"), django_capture_on_commit_callbacks)
    assert Customer.objects.get() == known
    assert Conversation.objects.get().customer == known


def test_the_open_conversation_is_reused_and_counts_unread(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    deliver(client, inbox, message_payload("wamid.1"), django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(status="in-progress")
    before = Conversation.objects.get().updated_at
    deliver(client, inbox, message_payload("wamid.2"), django_capture_on_commit_callbacks)
    conversation.refresh_from_db()
    assert Conversation.objects.count() == 1
    assert conversation.unread_count == 2
    assert conversation.status == "in-progress"
    assert conversation.updated_at > before


def test_a_resolved_conversation_reopens(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    deliver(client, inbox, message_payload("wamid.1"), django_capture_on_commit_callbacks)
    Conversation.objects.update(status="resolved")
    deliver(client, inbox, message_payload("wamid.2"), django_capture_on_commit_callbacks)
    assert Conversation.objects.get().status == "new"


def test_after_a_closed_conversation_a_new_one_starts(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    deliver(client, inbox, message_payload("wamid.1"), django_capture_on_commit_callbacks)
    Conversation.objects.update(status="closed")
    deliver(client, inbox, message_payload("wamid.2"), django_capture_on_commit_callbacks)
    assert list(Conversation.objects.order_by("id").values_list("status", flat=True)) == [
        "closed",
        "new",
    ]


def test_the_same_delivery_twice_is_one_message_counted_once(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    for _ in range(2):
        deliver(client, inbox, message_payload("wamid.TWICE"), django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.count() == 2
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_a_reply_and_a_reaction_point_at_the_message_they_answer(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(company=inbox.company, inbox=inbox)
    sent = MessageFactory(
        conversation=conversation,
        inbox=inbox,
        sender_type="agent",
        sender_user=None,
        provider_message_id="wamid.HBgLOUTBOUND05",
    )
    Message.objects.filter(pk=sent.pk).update(sender_type="customer")
    deliver(client, inbox, fixture("reaction"), django_capture_on_commit_callbacks)
    reaction = Message.objects.get(kind="reaction")
    assert reaction.reply_to == sent
    assert reaction.payload == {"target": "wamid.HBgLOUTBOUND05", "emoji": "👍"}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("image", "image"),
        ("audio", "audio"),
        ("voice", "voice"),
        ("video", "video"),
        ("document", "document"),
        ("sticker", "sticker"),
        ("location", "location"),
        ("contacts", "contacts"),
        ("interactive_button_reply", "interactive"),
        ("interactive_list_reply", "interactive"),
        ("button", "interactive"),
        ("reaction", "reaction"),
        ("unsupported", "unsupported"),
        ("unknown_type", "unsupported"),
    ],
)
def test_every_type_is_stored_never_dropped(
    client, inbox, name, kind, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, inbox, fixture(name))
    process_webhook_delivery(
        company_id=inbox.company_id, delivery_id=WebhookDelivery.objects.get().pk
    )
    message = Message.objects.get()
    assert message.kind == kind
    assert message.content
    media = name in {"image", "audio", "voice", "video", "document", "sticker"}
    assert MessageAttachment.objects.filter(message=message, state="pending").count() == int(media)


# --- statuses


def test_statuses_out_of_order_only_move_forward(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(company=inbox.company, inbox=inbox)
    sent = MessageFactory(
        conversation=conversation,
        inbox=inbox,
        sender_type="agent",
        sender_user=None,
        provider_message_id="wamid.HBgLOUTBOUND01",
        delivery_status="sent",
    )
    for name in ("status_read", "status_delivered", "status_sent"):
        deliver(client, inbox, fixture(name), django_capture_on_commit_callbacks)
    sent.refresh_from_db()
    assert sent.delivery_status == "read"
    assert WebhookDelivery.objects.filter(state="processed").count() == 3


def test_a_failed_status_records_metas_error(
    client, inbox, immediate_tasks, django_capture_on_commit_callbacks
):
    conversation = ConversationFactory(company=inbox.company, inbox=inbox)
    sent = MessageFactory(
        conversation=conversation,
        inbox=inbox,
        sender_type="agent",
        sender_user=None,
        provider_message_id="wamid.HBgLOUTBOUND01",
        delivery_status="sent",
    )
    deliver(client, inbox, fixture("status_failed"), django_capture_on_commit_callbacks)
    sent.refresh_from_db()
    assert sent.delivery_status == "failed"
    assert sent.last_error_code == "131047"
    assert "24 hours" in sent.last_error


def test_a_status_for_another_companys_message_changes_nothing(
    client, inbox, other_company, immediate_tasks, django_capture_on_commit_callbacks
):
    theirs_inbox = whatsapp_inbox(other_company)
    theirs = MessageFactory(
        conversation=ConversationFactory(company=other_company, inbox=theirs_inbox),
        inbox=theirs_inbox,
        sender_type="agent",
        sender_user=None,
        provider_message_id="wamid.HBgLOUTBOUND01",
        delivery_status="sent",
    )
    deliver(client, inbox, fixture("status_read"), django_capture_on_commit_callbacks)
    theirs.refresh_from_db()
    assert theirs.delivery_status == "sent"


# --- twenty at once


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_copies_of_a_delivery_are_one_message(company):
    inbox = whatsapp_inbox(company)
    CustomerFactory(company=company, name="Someone else")
    client = Client()
    for _ in range(20):
        post_signed(client, inbox, message_payload("wamid.PARALLEL", sender="15550001111"))
    delivery_ids = list(WebhookDelivery.objects.values_list("id", flat=True))
    assert len(delivery_ids) == 20
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def work(delivery_id: int) -> None:
        try:
            barrier.wait()
            process_webhook_delivery(company_id=company.pk, delivery_id=delivery_id)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in delivery_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Message.objects.filter(provider_message_id="wamid.PARALLEL").count() == 1
    assert Customer.objects.filter(whatsapp_number="+15550001111").count() == 1
    conversation = Conversation.objects.get()
    assert conversation.unread_count == 1
    states = set(WebhookDelivery.objects.values_list("state", flat=True))
    assert states == {"processed"}, WebhookDelivery.objects.values_list("reason", flat=True)


def test_a_delivery_whose_task_was_lost_is_enqueued_again_by_the_sweep(
    client, inbox, immediate_tasks
):
    from datetime import timedelta

    from django.utils import timezone

    from inboxes.inbound import requeue_stale_deliveries

    post_signed(client, inbox, message_payload("wamid.LOST"))  # its on-commit task never ran
    assert requeue_stale_deliveries() == 0  # too recent: its task may still be on the way
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    assert requeue_stale_deliveries() == 1
    assert WebhookDelivery.objects.get().state == "processed"
    assert Message.objects.get().provider_message_id == "wamid.LOST"
