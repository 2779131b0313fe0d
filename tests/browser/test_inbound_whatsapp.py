"""A customer writes on WhatsApp: Meta's signed webhook, posted to the live server, becomes a
conversation in an agent's inbox, with the message and its image, and every other kind shown."""

import json
import struct
import time
import urllib.request
import zlib
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from conversations.models import Conversation, MessageAttachment
from inboxes.channels.meta import signature_of
from inboxes.local_providers.graph import LocalGraphServer
from inboxes.models import Inbox
from tests.browser.test_inbox import sign_in
from tests.inboxes.whatsapp_helpers import fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SENDER = "447700900123"


def png(width: int = 120, height: int = 80) -> bytes:
    """A real PNG (a teal rectangle), so the browser can draw it."""
    row = b"\x00" + bytes([20, 150, 140]) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def as_customer(name: str, inbox: Inbox, number: int) -> dict:
    """A reference payload, sent by our new customer to the demo's WhatsApp number."""
    payload = fixture(name)
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = inbox.credentials["phone_number_id"]
    value["contacts"] = [{"profile": {"name": "Nora Quinn"}, "wa_id": SENDER}]
    message = value["messages"][0]
    message.update({"from": SENDER, "id": f"wamid.BROWSER{number:03d}"})
    message["timestamp"] = str(int(time.time()) - 60 + number)
    message.pop("context", None)
    return payload


def post_webhook(base_url: str, inbox: Inbox, payload: dict) -> int:
    body = json.dumps(payload).encode()
    path = reverse("inboxes:webhook", kwargs={"kind": "whatsapp", "public_key": inbox.public_key})
    request = urllib.request.Request(
        base_url + path,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature_of(body, inbox.credentials["app_secret"]),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return response.status


def test_a_signed_webhook_becomes_a_conversation_in_the_agents_inbox(
    page: Page, live_server, demo, settings
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    inbox = Inbox.objects.get(company__slug="acme", kind="whatsapp")
    with LocalGraphServer() as graph:
        settings.GRAPH_API_BASE_URL = graph.url
        graph.add_media("1037543291543636", png(), "image/png")
        kinds = [
            "text",
            "image",
            "location",
            "contacts",
            "interactive_list_reply",
            "document",
            "voice",
            "unknown_type",
        ]
        for number, name in enumerate(kinds):
            assert post_webhook(live_server.url, inbox, as_customer(name, inbox, number)) == 200

    conversation = Conversation.objects.get(customer__whatsapp_number=f"+{SENDER}")
    assert conversation.messages.count() == len(kinds)
    assert MessageAttachment.objects.get(message__kind="image").state == "stored"

    sign_in(page, live_server.url, "ana@acme.example")
    page.locator("#inbox-tabs").get_by_role("link", name="Unassigned").click()
    row = page.locator(f'a[data-row][data-conversation="{conversation.pk}"]')
    expect(row).to_contain_text("Nora Quinn")
    row.click()
    chat = page.locator("#chat-messages")
    expect(chat).to_contain_text("Hello, is my order on its way?")
    image = chat.locator('[data-kind="image"] img')
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 120
    expect(chat.locator('[data-kind="image"]')).to_contain_text("The box arrived like this")
    expect(chat.locator('[data-kind="location"]')).to_contain_text("Harbour Café")
    expect(chat.locator('[data-kind="location"] a')).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=38.7077&mlon=-9.1365#map=17/38.7077/-9.1365"
    )
    expect(chat.locator("[data-contact]")).to_contain_text("Bruno Lima")
    expect(chat.locator('[data-kind="interactive"]')).to_contain_text("Size M")
    # no media for these two on the local server: the chat says the download failed
    expect(chat.locator('[data-kind="document"]')).to_contain_text("Could not download")
    expect(chat.locator('[data-kind="unsupported"]')).to_contain_text("cannot be shown here")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "inbound_whatsapp_chat.png", full_page=True)
    image.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "inbound_whatsapp_image.png")
