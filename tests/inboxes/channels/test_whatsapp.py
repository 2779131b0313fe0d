"""The WhatsApp adapter against Meta's reference payload shapes (fixtures/whatsapp/*.json):
signatures, the verify-token handshake, and every message type and status parsed into events."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import RequestFactory

from inboxes.channels import (
    InboundMessage,
    StatusUpdate,
    UnparseableDelivery,
    WebhookRefused,
    adapter_for_kind,
)
from inboxes.channels.meta import signature_of
from inboxes.models import Inbox

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
SECRET = "app-secret-123"
whatsapp = adapter_for_kind("whatsapp")


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def inbox() -> Inbox:
    return Inbox(
        company_id=1,
        kind="whatsapp",
        verify_token="verify-me",
        credentials={"app_secret": SECRET, "phone_number_id": "109876543210001"},
    )


def parse_one(name: str) -> InboundMessage | StatusUpdate:
    [event] = whatsapp.parse(inbox(), fixture(name), "application/json")
    return event


def signed_request(body: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_X_HUB_SIGNATURE_256": signature}
    return RequestFactory().post(
        "/webhooks/whatsapp/x/", data=body, content_type="application/json", **headers
    )


# --- signatures and handshake


def test_a_correct_signature_passes():
    body = fixture("text")
    whatsapp.verify(inbox(), signed_request(body, signature_of(body, SECRET)), body)


def test_a_missing_signature_is_refused_with_403():
    body = fixture("text")
    with pytest.raises(WebhookRefused) as refused:
        whatsapp.verify(inbox(), signed_request(body, None), body)
    assert refused.value.status == 403
    assert "missing" in str(refused.value)


def test_a_signature_made_with_another_secret_is_refused():
    body = fixture("text")
    with pytest.raises(WebhookRefused):
        whatsapp.verify(inbox(), signed_request(body, signature_of(body, "not-the-secret")), body)


def test_a_right_signature_over_a_body_changed_by_one_byte_is_refused():
    body = fixture("text")
    signature = signature_of(body, SECRET)
    tampered = body.replace(b"Hello", b"Jello")
    assert len(tampered) == len(body) and tampered != body
    with pytest.raises(WebhookRefused):
        whatsapp.verify(inbox(), signed_request(tampered, signature), tampered)


def test_the_handshake_echoes_the_challenge_for_the_inboxs_verify_token():
    request = RequestFactory().get(
        "/",
        {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"},
    )
    response = whatsapp.handshake(inbox(), request)
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
def test_the_handshake_refuses_a_wrong_token_or_mode(params):
    response = whatsapp.handshake(inbox(), RequestFactory().get("/", params))
    assert response.status_code == 403
    assert b"1" not in response.content


# --- every message type


def test_text():
    event = parse_one("text")
    assert isinstance(event, InboundMessage)
    assert event.account_id == "109876543210001"
    assert event.sender == "15551234567"
    assert event.sender_name == "Ana Souza"
    assert event.provider_message_id == "wamid.HBgLTEXT01"
    assert event.kind == "text"
    assert event.text == "Hello, is my order on its way?"
    assert event.timestamp == datetime(2025, 12, 7, 9, 33, 20, tzinfo=UTC)
    assert event.reply_to_provider_id == ""


def test_a_reply_names_the_message_it_answers():
    event = parse_one("text_reply")
    assert event.reply_to_provider_id == "wamid.HBgLOUTBOUND01"


@pytest.mark.parametrize(
    ("name", "kind", "media_id", "mime", "caption", "filename"),
    [
        ("image", "image", "1037543291543636", "image/jpeg", "The box arrived like this", ""),
        ("audio", "audio", "1003383421387256", "audio/mpeg", "", ""),
        ("voice", "voice", "1003383421387257", "audio/ogg", "", ""),
        ("video", "video", "1214522256587771", "video/mp4", "Unboxing", ""),
        (
            "document",
            "document",
            "1188343192543012",
            "application/pdf",
            "My invoice",
            "invoice-2291.pdf",
        ),
        ("sticker", "sticker", "1377398473409934", "image/webp", "", ""),
    ],
)
def test_media_messages_carry_one_attachment(name, kind, media_id, mime, caption, filename):
    event = parse_one(name)
    assert event.kind == kind
    [attachment] = event.attachments
    assert attachment.kind == kind
    assert attachment.provider_media_id == media_id
    assert attachment.mime_type == mime
    assert attachment.caption == caption
    assert attachment.filename == filename
    assert event.text  # a caption or a readable label, never empty


def test_a_voice_note_is_labelled_as_one():
    assert parse_one("voice").text == "[Voice note]"


def test_location():
    event = parse_one("location")
    assert event.kind == "location"
    assert event.payload == {
        "latitude": 38.7077,
        "longitude": -9.1365,
        "name": "Harbour Café",
        "address": "1 Harbour Street, Lisbon",
        "url": "https://harbour.example",
    }
    assert "Harbour Café" in event.text


def test_contacts():
    event = parse_one("contacts")
    assert event.kind == "contacts"
    [card] = event.payload["contacts"]
    assert card["name"] == "Bruno Lima"
    assert card["phones"][0]["wa_id"] == "15559876543"
    assert card["emails"] == ["bruno@example.com"]
    assert card["organization"] == "Lima & Co"
    assert event.text == "[Contact: Bruno Lima]"


def test_interactive_button_reply():
    event = parse_one("interactive_button_reply")
    assert event.kind == "interactive"
    assert event.payload["reply_type"] == "button_reply"
    assert event.payload["id"] == "track-order"
    assert event.text == "Track my order"
    assert event.reply_to_provider_id == "wamid.HBgLOUTBOUND02"


def test_interactive_list_reply():
    event = parse_one("interactive_list_reply")
    assert event.kind == "interactive"
    assert event.payload == {
        "reply_type": "list_reply",
        "id": "size-m",
        "title": "Size M",
        "description": "Fits 38-40",
    }


def test_template_quick_reply_button():
    event = parse_one("button")
    assert event.kind == "interactive"
    assert event.payload == {
        "reply_type": "button",
        "id": "STOP-PROMOS",
        "title": "Stop promotions",
    }
    assert event.text == "Stop promotions"


def test_reaction_names_its_target_and_emoji():
    event = parse_one("reaction")
    assert event.kind == "reaction"
    assert event.payload == {"target": "wamid.HBgLOUTBOUND05", "emoji": "👍"}
    assert event.reply_to_provider_id == "wamid.HBgLOUTBOUND05"


@pytest.mark.parametrize("name", ["unsupported", "unknown_type"])
def test_unsupported_and_unknown_types_become_a_readable_placeholder(name):
    event = parse_one(name)
    assert event.kind == "unsupported"
    assert "cannot be shown here" in event.text
    assert event.payload["type"] in {"unsupported", "order"}


def test_the_reason_meta_gives_for_an_unsupported_message_is_kept():
    assert "not supported" in parse_one("unsupported").payload["reason"]


# --- statuses


@pytest.mark.parametrize("status", ["sent", "delivered", "read"])
def test_statuses(status):
    event = parse_one(f"status_{status}")
    assert isinstance(event, StatusUpdate)
    assert event.status == status
    assert event.provider_message_id == "wamid.HBgLOUTBOUND01"
    assert event.account_id == "109876543210001"
    assert event.error_code == ""


def test_a_failed_status_carries_metas_error_code_and_text():
    event = parse_one("status_failed")
    assert event.status == "failed"
    assert event.error_code == "131047"
    assert event.error_text.startswith("Re-engagement message")
    assert "24 hours" in event.error_text


# --- what is not a WhatsApp webhook


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "Not a WhatsApp webhook"),
        (json.dumps({"object": "page", "entry": []}).encode(), "'page'"),
        (b"[" * 10_000 + b"]" * 10_000, "recursion limit"),
        (b'{"object": "whatsapp_business_account"}', "entry"),
    ],
)
def test_what_is_not_a_webhook_is_unparseable_with_a_reason(body, reason):
    with pytest.raises(UnparseableDelivery) as unparseable:
        whatsapp.parse(inbox(), body, "application/json")
    assert reason in str(unparseable.value)


def test_json_nested_ten_thousand_deep_inside_a_valid_envelope_is_unparseable():
    deep = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    body = fixture("text").replace(b'"Hello, is my order on its way?"', deep)
    with pytest.raises(UnparseableDelivery):
        whatsapp.parse(inbox(), body, "application/json")


def test_a_wrong_content_type_is_unparseable():
    with pytest.raises(UnparseableDelivery) as unparseable:
        whatsapp.parse(inbox(), fixture("text"), "application/x-www-form-urlencoded")
    assert "content type" in str(unparseable.value)


def test_wa_ids_with_and_without_plus_are_one_identity():
    assert whatsapp.normalize_identity("+1 555-123-4567") == "15551234567"
    assert whatsapp.normalize_identity("15551234567") == "15551234567"
