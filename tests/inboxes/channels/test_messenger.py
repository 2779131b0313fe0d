"""Facebook Messenger and Instagram Direct: Meta's reference webhook payloads (fixtures/messenger,
fixtures/instagram) parsed into events and applied through the webhook address, and the Send API
against the local Graph server (window rules, the HUMAN_AGENT tag, uploads, profiles)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from conversations import services
from conversations.models import Conversation, Message, MessageAttachment
from conversations.tasks import deliver_message
from customers.models import Customer, CustomerIdentity
from inboxes.channels import (
    InboundMessage,
    MessageRemoved,
    OutboundAttachment,
    OutboundMessage,
    SendError,
    StatusUpdate,
    StatusWatermark,
    adapter_for,
)
from inboxes.channels.messenger import parse_webhook
from inboxes.local_providers.graph import LocalGraphServer
from inboxes.models import Inbox, WebhookDelivery
from tests.factories import ConversationFactory, InboxFactory, MessageFactory, UserFactory
from tests.inboxes.whatsapp_helpers import post_signed, webhook_url

FIXTURES = Path(__file__).parent / "fixtures"
PAGE_ID = "106781295162780"
PSID = "6543210987654321"
IG_ID = "17841400000000001"
IGSID = "5566778899001122"
SECRET = "app-secret-123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def fixture(channel: str, name: str) -> dict:
    return json.loads((FIXTURES / channel / f"{name}.json").read_text())


def events(channel: str, name: str) -> list:
    obj, label = ("page", "Messenger") if channel == "messenger" else ("instagram", "Instagram")
    return parse_webhook(json.dumps(fixture(channel, name)).encode(), obj, label)


@pytest.fixture
def graph(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PROVIDER_TIMEOUT_SECONDS = 1
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with LocalGraphServer() as server:
        settings.GRAPH_API_BASE_URL = server.url
        yield server


def messenger_inbox(company, **credentials) -> Inbox:
    return InboxFactory(
        company=company,
        kind="facebook",
        credentials={
            "page_id": PAGE_ID,
            "page_access_token": "page-token",
            "app_secret": SECRET,
            **credentials,
        },
    )


def instagram_inbox(company, **credentials) -> Inbox:
    return InboxFactory(
        company=company,
        kind="instagram",
        credentials={
            "instagram_account_id": IG_ID,
            "access_token": "ig-token",
            "app_secret": SECRET,
            **credentials,
        },
    )


@pytest.fixture
def page(company):
    return messenger_inbox(company)


@pytest.fixture
def insta(company):
    return instagram_inbox(company)


def deliver(client, inbox, payload, capture, **kwargs):
    with capture(execute=True):
        return post_signed(client, inbox, payload, secret=kwargs.pop("secret", SECRET), **kwargs)


# --- parsing the reference payloads (no database)


@pytest.mark.parametrize(
    ("name", "kind", "text"),
    [
        ("text", "text", "Hello, is my order on its way?"),
        ("image", "image", "[Photo]"),
        ("video", "video", "[Video]"),
        ("audio", "audio", "[Audio]"),
        ("file", "document", "[File]"),
        ("sticker", "sticker", "[Sticker]"),
        ("fallback", "text", "[Fallback: Blue running shoes]"),
        ("quick_reply", "interactive", "Track my order"),
        ("postback", "interactive", "Talk to a person"),
        ("reaction", "reaction", "❤️"),
        ("unreaction", "reaction", "[Removed a reaction]"),
    ],
)
def test_messenger_messages_parse_to_what_the_chat_shows(name, kind, text):
    [event] = events("messenger", name)
    assert isinstance(event, InboundMessage)
    assert (event.kind, event.text, event.sender, event.account_id) == (kind, text, PSID, PAGE_ID)
    assert not event.from_business
    if kind in {"image", "video", "audio", "document", "sticker"}:
        [attachment] = event.attachments
        assert attachment.url.startswith("https://") and attachment.kind == kind
    else:
        assert event.attachments == ()


def test_messenger_details_quick_reply_postback_reaction_fallback_reply():
    assert events("messenger", "quick_reply")[0].payload["id"] == "TRACK_ORDER"
    assert events("messenger", "postback")[0].payload == {
        "reply_type": "postback",
        "id": "HUMAN",
        "title": "Talk to a person",
    }
    reaction = events("messenger", "reaction")[0]
    assert reaction.reply_to_provider_id == "m_AbCdText001"
    assert reaction.payload["action"] == "react"
    assert events("messenger", "fallback")[0].payload["links"][0]["url"] == (
        "https://example.com/product/42"
    )
    assert events("messenger", "text_reply")[0].reply_to_provider_id == "m_AbCdText001"


def test_echoes_the_page_inbox_reply_is_the_business_the_hubs_own_send_is_dropped():
    [echo] = events("messenger", "echo_from_page_inbox")
    assert echo.from_business and echo.sender == PSID and echo.text == "Hi! It ships tomorrow."
    assert events("messenger", "echo_of_hub_send") == []


def test_messenger_receipts_delivery_ids_and_watermarks():
    delivered, delivered_mark = events("messenger", "delivery")
    assert isinstance(delivered, StatusUpdate) and delivered.status == "delivered"
    assert delivered.provider_message_id == "m_SENT_BY_HUB"
    assert isinstance(delivered_mark, StatusWatermark) and delivered_mark.recipient == PSID
    [read] = events("messenger", "read")
    assert isinstance(read, StatusWatermark) and read.status == "read"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("text", "text"),
        ("image", "image"),
        ("video", "video"),
        ("audio", "audio"),
        ("story_reply", "text"),
        ("story_mention", "text"),
        ("reaction", "reaction"),
        ("unreaction", "reaction"),
        ("icebreaker", "interactive"),
        ("postback", "interactive"),
        ("unsupported", "unsupported"),
    ],
)
def test_instagram_messages_parse(name, kind):
    [event] = events("instagram", name)
    assert isinstance(event, InboundMessage)
    assert (event.kind, event.sender, event.account_id) == (kind, IGSID, IG_ID)
    assert event.text


def test_instagram_stories_keep_their_link_and_say_it_expires():
    reply = events("instagram", "story_reply")[0]
    assert reply.text == "[Replied to your story] Love this look!"
    assert reply.payload["story_reply"]["url"].startswith("https://lookaside.fbsbx.com/")
    assert reply.payload["story_expires"] is True
    mention = events("instagram", "story_mention")[0]
    assert mention.text == "[Mentioned you in their story]"
    assert mention.payload["links"][0]["type"] == "story_mention"
    assert mention.payload["story_expires"] is True


def test_instagram_unsent_seen_and_echo():
    [removed] = events("instagram", "unsent")
    assert isinstance(removed, MessageRemoved) and removed.sender == IGSID
    seen = events("instagram", "seen")
    assert isinstance(seen[0], StatusUpdate) and seen[0].status == "read"
    assert seen[0].provider_message_id == "aWdf_SENT_BY_HUB"
    [echo] = events("instagram", "echo_from_app")
    assert echo.from_business and echo.sender == IGSID


# --- through the webhook address


def test_the_handshake_and_signatures_are_metas(client, page):
    answer = client.get(
        webhook_url(page),
        {"hub.mode": "subscribe", "hub.verify_token": page.verify_token, "hub.challenge": "7"},
    )
    assert answer.status_code == 200 and answer.content == b"7"
    refused = post_signed(client, page, fixture("messenger", "text"), secret="wrong")
    assert refused.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_a_first_message_makes_a_customer_named_by_the_profile_api_once(
    client, page, graph, django_capture_on_commit_callbacks
):
    graph.add_profile(PSID, {"first_name": "Ana", "last_name": "Lima"})
    assert deliver(client, page, fixture("messenger", "text"), django_capture_on_commit_callbacks)
    second = fixture("messenger", "text_reply")
    deliver(client, page, second, django_capture_on_commit_callbacks)
    customer = Customer.objects.get()
    assert customer.name == "Ana Lima"
    identity = CustomerIdentity.objects.get()
    assert (identity.kind, identity.value, identity.inbox_id) == ("psid", PSID, page.pk)
    profile_calls = [r for r in graph.requests if r.method == "GET" and PSID in r.path]
    assert len(profile_calls) == 1
    assert "fields=first_name,last_name" in profile_calls[0].path
    assert profile_calls[0].authorization == "Bearer page-token"
    first, reply = Message.objects.order_by("id")
    assert reply.reply_to == first
    assert Conversation.objects.get().unread_count == 2


def test_the_same_delivery_twice_is_one_message(
    client, page, graph, django_capture_on_commit_callbacks
):
    for _ in range(2):
        deliver(client, page, fixture("messenger", "text"), django_capture_on_commit_callbacks)
    assert WebhookDelivery.objects.filter(state="processed").count() == 2
    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_an_image_is_downloaded_from_its_url(
    client, page, graph, django_capture_on_commit_callbacks
):
    graph.add_media("img1", PNG, "image/png")
    payload = fixture("messenger", "image")
    url = f"{graph.url}/media-download/img1"
    payload["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = url
    deliver(client, page, payload, django_capture_on_commit_callbacks)
    attachment = MessageAttachment.objects.get()
    assert attachment.state == "stored", attachment.error
    assert attachment.source_url == url
    assert attachment.file.read() == PNG and attachment.mime_type == "image/png"


def test_another_pages_payload_is_ignored_with_the_reason(
    client, company, graph, django_capture_on_commit_callbacks
):
    other_page = messenger_inbox(company, page_id="999000111")
    deliver(client, other_page, fixture("messenger", "text"), django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "ignored"
    assert PAGE_ID in delivery.reason and "999000111" in delivery.reason
    assert not Message.objects.exists() and not Customer.objects.exists()


def test_an_instagram_payload_at_a_messenger_inbox_is_a_dead_letter(
    client, page, graph, django_capture_on_commit_callbacks
):
    deliver(client, page, fixture("instagram", "text"), django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "dead" and "'instagram'" in delivery.reason


def agent_message(inbox, conversation, mid, status="sent", minutes_ago=5) -> Message:
    return MessageFactory(
        conversation=conversation,
        inbox=inbox,
        sender_type="agent",
        sender_user=None,
        provider_message_id=mid,
        delivery_status=status,
        timestamp=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_echoes_page_inbox_reply_shows_as_agent_and_our_own_is_not_stored_twice(
    client, page, graph, django_capture_on_commit_callbacks
):
    deliver(client, page, fixture("messenger", "text"), django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get()
    ours = agent_message(page, conversation, "m_AbCdEcho012")
    # the echo of our own send: by its metadata, and (for Instagram) by its id
    deliver(
        client, page, fixture("messenger", "echo_of_hub_send"), django_capture_on_commit_callbacks
    )
    payload = fixture("messenger", "echo_from_page_inbox")
    payload["entry"][0]["messaging"][0]["message"]["mid"] = "m_AbCdEcho012"
    deliver(client, page, payload, django_capture_on_commit_callbacks)
    assert Message.objects.filter(sender_type="agent").get() == ours
    # a reply written in Meta's own inbox
    deliver(
        client,
        page,
        fixture("messenger", "echo_from_page_inbox"),
        django_capture_on_commit_callbacks,
    )
    theirs = Message.objects.get(provider_message_id="m_AbCdEcho011")
    assert theirs.sender_type == "agent" and theirs.sender_user is None
    assert theirs.delivery_status == "sent" and theirs.is_read
    conversation.refresh_from_db()
    assert conversation.unread_count == 1  # the customer's text only
    assert Customer.objects.count() == 1


def test_a_read_watermark_marks_every_earlier_message_read_and_stays_forward_only(
    client, page, graph, django_capture_on_commit_callbacks
):
    deliver(client, page, fixture("messenger", "text"), django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get()
    watermark = fixture("messenger", "read")["entry"][0]["messaging"][0]["read"]["watermark"]
    read_at = datetime.fromtimestamp(watermark / 1000, tz=UTC)
    older = agent_message(page, conversation, "m_OLD", "sent")
    Message.objects.filter(pk=older.pk).update(timestamp=read_at - timedelta(minutes=2))
    delivered = agent_message(page, conversation, "m_SENT_BY_HUB", "sent")
    Message.objects.filter(pk=delivered.pk).update(timestamp=read_at - timedelta(minutes=1))
    later = agent_message(page, conversation, "m_LATER", "sent")
    Message.objects.filter(pk=later.pk).update(timestamp=read_at + timedelta(minutes=1))
    failed = agent_message(page, conversation, "m_FAILED", "failed")
    Message.objects.filter(pk=failed.pk).update(timestamp=read_at - timedelta(minutes=3))
    # out of order: the read receipt first, then the delivery receipt
    deliver(client, page, fixture("messenger", "read"), django_capture_on_commit_callbacks)
    deliver(client, page, fixture("messenger", "delivery"), django_capture_on_commit_callbacks)
    statuses = dict(
        Message.objects.filter(sender_type="agent").values_list(
            "provider_message_id", "delivery_status"
        )
    )
    assert statuses == {
        "m_OLD": "read",
        "m_SENT_BY_HUB": "read",
        "m_LATER": "sent",
        "m_FAILED": "failed",
    }


def test_instagram_seen_unsent_and_reactions(
    client, insta, graph, django_capture_on_commit_callbacks
):
    graph.add_profile(IGSID, {"name": "Bea Costa", "username": "bea.costa"})
    deliver(client, insta, fixture("instagram", "text"), django_capture_on_commit_callbacks)
    assert Customer.objects.get().name == "Bea Costa"
    profile_call = next(r for r in graph.requests if IGSID in r.path)
    assert "fields=name,username" in profile_call.path
    conversation = Conversation.objects.get()
    sent = agent_message(insta, conversation, "aWdf_SENT_BY_HUB")
    deliver(client, insta, fixture("instagram", "seen"), django_capture_on_commit_callbacks)
    sent.refresh_from_db()
    assert sent.delivery_status == "read"
    deliver(client, insta, fixture("instagram", "reaction"), django_capture_on_commit_callbacks)
    deliver(client, insta, fixture("instagram", "unreaction"), django_capture_on_commit_callbacks)
    reactions = Message.objects.filter(kind="reaction").order_by("id")
    assert [r.content for r in reactions] == ["❤️", "[Removed a reaction]"]
    original = Message.objects.get(kind="text", sender_type="customer")
    assert all(r.reply_to == original for r in reactions)
    deliver(client, insta, fixture("instagram", "unsent"), django_capture_on_commit_callbacks)
    original.refresh_from_db()
    assert original.content == "[The customer unsent this message]"
    assert original.payload["removed"] is True


# --- sending through the Send API


def outbound(**fields) -> OutboundMessage:
    return OutboundMessage(recipient=PSID, **fields)


def test_a_reply_inside_24_hours_is_a_response(graph, page):
    result = adapter_for(page).send(
        page,
        outbound(
            text="It ships tomorrow.",
            last_inbound_at=timezone.now() - timedelta(hours=2),
            reference="hub-message:5",
        ),
    )
    [request] = graph.sends()
    assert request.path == f"/v21.0/{PAGE_ID}/messages"
    assert request.authorization == "Bearer page-token"
    assert request.json == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "It ships tomorrow.", "metadata": "hub-message:5"},
    }
    assert result.provider_message_id.startswith("m_")


def test_after_24_hours_the_human_agent_tag_only_when_allowed_and_never_after_7_days(
    graph, company
):
    late = outbound(text="Sorry for the wait", last_inbound_at=timezone.now() - timedelta(days=2))
    plain = messenger_inbox(company)
    with pytest.raises(SendError) as refused:
        adapter_for(plain).send(plain, late)
    assert refused.value.code == "outside_window" and not refused.value.retryable
    assert "HUMAN_AGENT" in str(refused.value)
    tagged = messenger_inbox(company, human_agent_tag="yes")
    adapter_for(tagged).send(tagged, late)
    [request] = graph.sends()
    assert request.json["messaging_type"] == "MESSAGE_TAG"
    assert request.json["tag"] == "HUMAN_AGENT"
    too_late = outbound(text="Hello?", last_inbound_at=timezone.now() - timedelta(days=8))
    with pytest.raises(SendError):
        adapter_for(tagged).send(tagged, too_late)
    assert len(graph.sends()) == 1


def test_a_messenger_file_is_uploaded_with_the_message(graph, page):
    image = OutboundAttachment(kind="image", filename="box.png", mime_type="image/png", content=PNG)
    adapter_for(page).send(page, outbound(attachments=(image,)))
    [request] = graph.sends()
    assert request.content_type.startswith("multipart/form-data")
    assert b'"type":"image"' in request.body and PNG in request.body
    assert request.status == 200


def test_instagram_sends_text_and_refuses_files_with_the_reason(graph, insta):
    adapter_for(insta).send(insta, OutboundMessage(recipient=IGSID, text="Yes, size M."))
    [request] = graph.sends()
    assert request.path == f"/v21.0/{IG_ID}/messages"
    assert request.json["recipient"] == {"id": IGSID}
    image = OutboundAttachment(kind="image", filename="a.png", mime_type="image/png", content=PNG)
    with pytest.raises(SendError) as refused:
        adapter_for(insta).send(insta, OutboundMessage(recipient=IGSID, attachments=(image,)))
    assert refused.value.code == "attachment"


def test_graph_errors_map_to_retry_or_not(graph, page):
    graph.fail_next(500, code=2)
    with pytest.raises(SendError) as transient:
        adapter_for(page).send(page, outbound(text="x"))
    assert transient.value.retryable
    graph.fail_next(400, code=100, message="No matching user found")
    with pytest.raises(SendError) as permanent:
        adapter_for(page).send(page, outbound(text="x"))
    assert not permanent.value.retryable and "No matching user" in str(permanent.value)


def test_the_reply_service_refuses_outside_the_window_and_says_why(graph, company):
    agent = UserFactory(company=company, role=Role.AGENT)
    for tag, hours, allowed in (("", 30, False), ("yes", 30, True), ("yes", 24 * 8, False)):
        inbox = messenger_inbox(company, human_agent_tag=tag)
        conversation = ConversationFactory(
            company=company, inbox=inbox, channel="facebook", assigned_user=agent
        )
        asked = MessageFactory(
            conversation=conversation,
            inbox=inbox,
            timestamp=timezone.now() - timedelta(hours=hours),
        )
        kwargs = {"conversation_id": conversation.pk, "last_seen_message_id": asked.pk}

        def send(kwargs=kwargs):
            return services.send_agent_reply(
                agent, company_id=company.pk, content="Hello", **kwargs
            )

        if allowed:
            assert send().delivery_status == "pending"
        else:
            with pytest.raises(services.OutsideReplyWindow) as refused:
                send()
            expected = "24 hours" if not tag else "7 days"
            assert expected in refused.value.messages[0]


def test_the_delivery_pipeline_sends_to_the_inbox_scoped_id_and_records_the_mid(
    client, page, graph, django_capture_on_commit_callbacks, company
):
    graph.subscribe(
        PAGE_ID,
        webhook_url=f"http://unused.invalid{webhook_url(page)}",
        app_secret=SECRET,
        channel="page",
    )
    deliver(client, page, fixture("messenger", "text"), django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get()
    agent = UserFactory(company=company, role=Role.AGENT)
    newest = Message.objects.get()
    Message.objects.filter(pk=newest.pk).update(timestamp=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):
        message = services.send_agent_reply(
            agent,
            company_id=company.pk,
            conversation_id=conversation.pk,
            content="On its way!",
            last_seen_message_id=newest.pk,
        )
    deliver_message.call(company_id=company.pk, message_id=message.pk)
    message.refresh_from_db()
    [request] = graph.sends()
    assert request.json["recipient"] == {"id": PSID}
    assert request.json["message"]["metadata"] == f"hub-message:{message.pk}"
    assert message.delivery_status == "sent" and message.provider_message_id.startswith("m_")


def test_a_file_reply_on_instagram_is_refused_before_it_is_stored(company, insta):
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    agent = UserFactory(company=company, role=Role.AGENT)
    conversation = ConversationFactory(
        company=company, inbox=insta, channel="instagram", assigned_user=agent
    )
    asked = MessageFactory(conversation=conversation, inbox=insta, timestamp=timezone.now())
    with pytest.raises(ValidationError) as refused:
        services.send_agent_reply(
            agent,
            company_id=company.pk,
            conversation_id=conversation.pk,
            content="Here it is",
            last_seen_message_id=asked.pk,
            attachment=SimpleUploadedFile("a.png", PNG, content_type="image/png"),
        )
    assert "Instagram does not take files" in refused.value.messages[0]
    assert not Message.objects.filter(sender_type="agent").exists()


def test_an_instagram_echo_processed_before_the_send_was_recorded_is_not_kept_twice(
    client, insta, graph, company, django_capture_on_commit_callbacks
):
    deliver(client, insta, fixture("instagram", "text"), django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get()
    agent = UserFactory(company=company, role=Role.AGENT)
    newest = Message.objects.get()
    Message.objects.filter(pk=newest.pk).update(timestamp=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):
        ours = services.send_agent_reply(
            agent,
            company_id=company.pk,
            conversation_id=conversation.pk,
            content="Yes, size M is in stock.",
            last_seen_message_id=newest.pk,
        )
    # the send is accepted, but its echo is processed before the answer is recorded
    from conversations.services import delivery

    claim = delivery.claim_message(company_id=company.pk, message_id=ours.pk)
    result = adapter_for(insta).send(insta, OutboundMessage(recipient=IGSID, text=ours.content))
    echo = fixture("instagram", "echo_from_app")
    echo["entry"][0]["messaging"][0]["message"]["mid"] = result.provider_message_id
    deliver(client, insta, echo, django_capture_on_commit_callbacks)
    assert Message.objects.filter(sender_type="agent").count() == 2
    assert delivery.record_sent(claim, result.provider_message_id)
    [agent_message] = Message.objects.filter(sender_type="agent")
    assert agent_message.pk == ours.pk
    assert agent_message.provider_message_id == result.provider_message_id
    [send] = graph.sends()
    assert "metadata" not in send.json["message"]  # Instagram's Send API has no such field


def test_without_a_profile_the_customer_still_gets_a_name(
    client, insta, graph, django_capture_on_commit_callbacks
):
    deliver(client, insta, fixture("instagram", "text"), django_capture_on_commit_callbacks)
    assert Customer.objects.get().name == f"Instagram customer {IGSID[-6:]}"


def test_the_human_agent_tag_is_an_optional_field_of_both_inboxes(company):
    from inboxes import services as inbox_services

    admin = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    inbox = inbox_services.create_inbox(
        admin,
        company=company,
        kind="facebook",
        name="Page",
        credentials={"page_id": PAGE_ID, "page_access_token": "t", "app_secret": "s"},
    )
    assert inbox.credentials["human_agent_tag"] == ""
    assert adapter_for(inbox).allowed_reply_window(inbox) == timedelta(hours=24)
    from tests.conftest import signed_in

    form = signed_in(admin).get(reverse("inboxes:edit", args=[inbox.pk]))
    assert form.status_code == 200
    assert b"HUMAN_AGENT tag" in form.content and b"Human Agent permission" in form.content
    tagged = instagram_inbox(company, human_agent_tag="Yes")
    assert adapter_for(tagged).allowed_reply_window(tagged) == timedelta(days=7)


def test_a_reply_from_metas_inbox_does_not_reopen_a_resolved_conversation(
    client, page, graph, django_capture_on_commit_callbacks
):
    deliver(client, page, fixture("messenger", "text"), django_capture_on_commit_callbacks)
    Conversation.objects.update(status="resolved")
    echo = fixture("messenger", "echo_from_page_inbox")
    deliver(client, page, echo, django_capture_on_commit_callbacks)
    assert Conversation.objects.get().status == "resolved"
    deliver(client, page, fixture("messenger", "text_reply"), django_capture_on_commit_callbacks)
    assert Conversation.objects.get().status == "new"
