"""A customer writes on WhatsApp: Meta's signed webhook, posted to the live server, becomes a
conversation in an agent's inbox, with the message and its image, and every other kind shown."""

import json
import time
import urllib.request
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from conversations.models import Conversation, MessageAttachment
from inboxes.channels.meta import signature_of
from inboxes.local_providers.graph import LocalGraphServer, sample_png
from inboxes.models import Inbox
from tests.browser.test_inbox import sign_in
from tests.inboxes.whatsapp_helpers import fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SENDER = "447700900123"


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


@pytest.fixture
def graph(settings):
    with LocalGraphServer() as server:
        settings.GRAPH_API_BASE_URL = server.url
        yield server


def test_a_customer_writes_on_whatsapp_and_the_agent_answers(
    page: Page, live_server, demo, settings, graph
):
    """A signed webhook becomes a conversation in an agent's inbox, every kind shown; the reply
    goes out to the Graph API and reaches delivered, as the chat shows."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    inbox = Inbox.objects.get(company__slug="acme", kind="whatsapp")
    graph.add_media("1037543291543636", sample_png(120, 80), "image/png")
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
    # she answers her own first message, then reacts to it
    reply = as_customer("text_reply", inbox, len(kinds))
    reply["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {
        "from": SENDER,
        "id": "wamid.BROWSER000",
    }
    reaction = as_customer("reaction", inbox, len(kinds) + 1)
    reaction["entry"][0]["changes"][0]["value"]["messages"][0]["reaction"] = {
        "message_id": "wamid.BROWSER000",
        "emoji": "👍",
    }
    kinds += ["text_reply", "reaction"]
    for payload in (reply, reaction):
        assert post_webhook(live_server.url, inbox, payload) == 200

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
    expect(chat.locator("[data-quote]")).to_contain_text("Hello, is my order on its way?")
    expect(chat.locator('[data-kind="reaction"]')).to_contain_text("reacted to")
    expect(chat.locator('[data-kind="reaction"]')).to_contain_text("Hello, is my order")
    first = chat.locator("li[data-message]").filter(has_text="Hello, is my order on its way?").first
    expect(first.locator("[data-reaction]")).to_have_text("👍")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "inbound_whatsapp_chat.png", full_page=True)
    image.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "inbound_whatsapp_image.png")

    # Ana replies: the local Graph server gets Meta's body, then calls back with signed statuses
    webhook = reverse(
        "inboxes:webhook", kwargs={"kind": "whatsapp", "public_key": inbox.public_key}
    )
    graph.subscribe(
        inbox.credentials["phone_number_id"],
        webhook_url=live_server.url + webhook,
        app_secret=inbox.credentials["app_secret"],
    )
    composer = page.get_by_placeholder("Reply on WhatsApp…")
    composer.fill("So sorry, Nora! A replacement box leaves today.")
    composer.press("Enter")
    sent = chat.locator("li[data-message]").filter(has_text="A replacement box leaves today")
    expect(sent.locator("[data-delivery]")).to_have_attribute(
        "data-delivery", "delivered", timeout=15_000
    )
    [send] = graph.sends()
    assert send.authorization == f"Bearer {inbox.credentials['access_token']}"
    assert send.json["to"] == SENDER
    assert send.json["type"] == "text"
    assert send.json["text"]["body"] == "So sorry, Nora! A replacement box leaves today."
    sent.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "inbound_whatsapp_delivered.png")
