"""Messenger and Instagram in Chromium, per channel: the customer's signed webhooks (a text, a
photo, a tapped quick reply or a story reply) become a conversation named by the profile API; the
agent replies; the local Graph server accepts it through the Send API and posts Meta's receipts
back, and the chat shows the reply delivered, then read."""

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from conversations.models import Conversation, Message, MessageAttachment
from inboxes.channels.meta import signature_of
from inboxes.local_providers.graph import LocalGraphServer, receipt_payload, sample_png
from inboxes.models import Inbox
from tests.browser.test_inbox import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIXTURES = Path(__file__).resolve().parents[1] / "inboxes" / "channels" / "fixtures"
CHANNELS = {
    # kind: fixtures folder, webhook object, account credential, the customer's id, profile,
    # the third fixture, what it shows
    "facebook": (
        "messenger",
        "page",
        "page_id",
        "24000000000000001",
        {"first_name": "Lena", "last_name": "Park"},
        "quick_reply",
        "Track my order",
    ),
    "instagram": (
        "instagram",
        "instagram",
        "instagram_account_id",
        "34000000000000001",
        {"name": "Lena Park", "username": "lena.park"},
        "story_reply",
        "Replied to your story",
    ),
}


def as_customer(folder: str, name: str, account: str, sender: str, number: int) -> dict:
    payload = json.loads((FIXTURES / folder / f"{name}.json").read_text())
    entry = payload["entry"][0]
    entry["id"] = account
    item = entry["messaging"][0]
    item["sender"], item["recipient"] = {"id": sender}, {"id": account}
    item["timestamp"] = int(time.time() * 1000) - 60_000 + number
    item["message"]["mid"] = f"m_BROWSER{number:03d}"
    if name != "story_reply":
        item["message"].pop("reply_to", None)
    return payload


def post_webhook(base_url: str, inbox: Inbox, payload: dict) -> int:
    body = json.dumps(payload).encode()
    path = reverse("inboxes:webhook", kwargs={"kind": inbox.kind, "public_key": inbox.public_key})
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


@pytest.mark.parametrize("kind", ["facebook", "instagram"])
def test_a_message_in_a_reply_out_delivered_and_read(page: Page, live_server, demo, settings, kind):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    folder, obj, account_field, sender, profile, third, third_text = CHANNELS[kind]
    inbox = Inbox.objects.get(company__slug="acme", kind=kind)
    account = inbox.credentials[account_field]
    with LocalGraphServer() as graph:
        settings.GRAPH_API_BASE_URL = graph.url
        graph.add_profile(sender, profile)
        graph.add_media("photo1", sample_png(120, 80), "image/png")
        path = reverse("inboxes:webhook", kwargs={"kind": kind, "public_key": inbox.public_key})
        graph.subscribe(
            account,
            webhook_url=live_server.url + path,
            app_secret=inbox.credentials["app_secret"],
            # Messenger sends delivery receipts; Instagram only a seen receipt
            statuses=("delivered",) if kind == "facebook" else (),
            channel=obj,
        )
        text = as_customer(folder, "text", account, sender, 1)
        photo = as_customer(folder, "image", account, sender, 2)
        photo["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = (
            f"{graph.url}/media-download/photo1"
        )
        for payload in (text, photo, as_customer(folder, third, account, sender, 3)):
            assert post_webhook(live_server.url, inbox, payload) == 200

        conversation = Conversation.objects.get(inbox=inbox, customer__name="Lena Park")
        assert conversation.messages.count() == 3
        assert MessageAttachment.objects.get(message__conversation=conversation).state == "stored"

        ARTIFACTS.mkdir(exist_ok=True)
        sign_in(page, live_server.url, "ana@acme.example")
        page.locator("#inbox-tabs").get_by_role("link", name="Unassigned").click()
        row = page.locator(f'a[data-row][data-conversation="{conversation.pk}"]')
        expect(row).to_contain_text("Lena Park")
        row.click()
        chat = page.locator("#chat-messages")
        expect(chat).to_contain_text(text["entry"][0]["messaging"][0]["message"]["text"])
        image = chat.locator('[data-kind="image"] img')
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth") == 120
        expect(chat).to_contain_text(third_text)

        composer = page.locator("#composer-input")
        composer.fill(f"Hi Lena, answering on {inbox.get_kind_display()}.")
        composer.press("Enter")
        reply = chat.locator("li").filter(has_text="answering on")
        expect(reply).to_be_visible()
        # the Send API's answer (sent), then Meta's delivery receipt, reach the open chat
        shown = "Delivered" if kind == "facebook" else "Sent"
        expect(reply.locator("[data-delivery]")).to_have_text(shown, timeout=20_000)
        page.screenshot(path=ARTIFACTS / f"meta_{kind}_delivered.png", full_page=True)
        # the customer reads it: Messenger's read watermark, Instagram's seen receipt
        sent = Message.objects.get(conversation=conversation, sender_type="agent")
        receipt = receipt_payload(obj, account, sender, sent.provider_message_id, "read")
        assert post_webhook(live_server.url, inbox, receipt) == 200
        expect(reply.locator("[data-delivery]")).to_have_text("Read", timeout=20_000)
        [send] = graph.accepted_sends()
        assert send.json["recipient"] == {"id": sender}
        assert send.json["messaging_type"] == "RESPONSE"
        sent.refresh_from_db()
        assert sent.provider_message_id.startswith("m_") and sent.delivery_status == "read"
        page.screenshot(path=ARTIFACTS / f"meta_{kind}_chat.png", full_page=True)


def posted(folder: str, name: str, account: str, sender: str, number: int, **message) -> dict:
    """A reference payload as this customer's (or, for echoes, the business's to them)."""
    payload = json.loads((FIXTURES / folder / f"{name}.json").read_text())
    entry = payload["entry"][0]
    entry["id"] = account
    item = entry["messaging"][0]
    echo = item["sender"]["id"] != item["recipient"]["id"] and "is_echo" in item.get("message", {})
    ids = ({"id": account}, {"id": sender}) if echo else ({"id": sender}, {"id": account})
    item["sender"], item["recipient"] = ids
    item["timestamp"] = int(time.time() * 1000) - 60_000 + number
    for key in ("message", "postback"):
        if key in item:
            item[key].update(message)
    return payload


def test_what_meta_channels_send_beyond_text_is_shown(page: Page, live_server, demo, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    with LocalGraphServer() as graph:
        settings.GRAPH_API_BASE_URL = graph.url
        fb = Inbox.objects.get(company__slug="acme", kind="facebook")
        ig = Inbox.objects.get(company__slug="acme", kind="instagram")
        page_id, ig_id = fb.credentials["page_id"], ig.credentials["instagram_account_id"]
        graph.add_profile("24000000000000002", {"first_name": "Omar", "last_name": "Haddad"})
        graph.add_profile("34000000000000002", {"name": "Iris Vale", "username": "iris.vale"})
        psid, igsid = "24000000000000002", "34000000000000002"
        for payload in (
            posted("messenger", "fallback", page_id, psid, 1, mid="m_B1"),
            posted("messenger", "postback", page_id, psid, 2, mid="m_B2"),
            posted("messenger", "echo_from_page_inbox", page_id, psid, 3, mid="m_B3"),
        ):
            assert post_webhook(live_server.url, fb, payload) == 200
        for payload in (
            posted("instagram", "text", ig_id, igsid, 1, mid="ig_B1", text="Is it waterproof?"),
            posted("instagram", "story_mention", ig_id, igsid, 2, mid="ig_B2"),
            posted("instagram", "icebreaker", ig_id, igsid, 3, mid="ig_B3"),
            posted("instagram", "unsent", ig_id, igsid, 4, mid="ig_B1"),
        ):
            assert post_webhook(live_server.url, ig, payload) == 200

    ARTIFACTS.mkdir(exist_ok=True)
    sign_in(page, live_server.url, "ana@acme.example")
    page.locator("#inbox-tabs").get_by_role("link", name="Unassigned").click()
    chat = page.locator("#chat-messages")

    omar = Conversation.objects.get(inbox=fb, customer__name="Omar Haddad")
    page.locator(f'a[data-row][data-conversation="{omar.pk}"]').click()
    link = chat.locator('[data-link="fallback"] a')
    expect(link).to_have_text("Blue running shoes")
    expect(link).to_have_attribute("href", "https://example.com/product/42")
    expect(chat.locator('[data-kind="interactive"]')).to_contain_text("Chose a menu option")
    expect(chat.locator('[data-kind="interactive"]')).to_contain_text("Talk to a person")
    outside = chat.locator("li").filter(has_text="It ships tomorrow")
    expect(outside).to_contain_text("Sent outside the hub")
    page.screenshot(path=ARTIFACTS / "meta_facebook_kinds.png", full_page=True)

    iris = Conversation.objects.get(inbox=ig, customer__name="Iris Vale")
    page.locator(f'a[data-row][data-conversation="{iris.pk}"]').click()
    expect(chat.locator('[data-kind="removed"]')).to_contain_text("unsent this message")
    expect(chat).not_to_contain_text("Is it waterproof?")
    mention = chat.locator('[data-link="story_mention"]')
    expect(mention).to_contain_text("Mentioned you in their story")
    expect(mention).to_contain_text("stops working when it expires")
    expect(mention.locator("a")).to_have_attribute(
        "href", re.compile(r"^https://lookaside\.fbsbx\.com/")
    )
    expect(chat.locator('[data-kind="interactive"]')).to_contain_text(
        "What are your opening hours?"
    )
    page.screenshot(path=ARTIFACTS / "meta_instagram_kinds.png", full_page=True)
