"""A company admin finds out from the browser why an inbox is unwell and reprocesses a dead letter,
with the keyboard alone."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from playwright.sync_api import Page, expect

from conversations.models import Conversation, Message
from inboxes.models import Inbox, WebhookDelivery
from tests.browser.conftest import sign_in_with_password as sign_in

WEEK = timedelta(days=7)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def screenshot(page: Page, name: str) -> None:
    """Saved where SCREENSHOTS points, to look at the page (nothing otherwise)."""
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        page.screenshot(path=Path(folder) / f"{name}.png", full_page=True)


def test_an_admin_diagnoses_an_inbox_and_reprocesses_a_dead_letter(page: Page, live_server, demo):
    inbox = Inbox.objects.get(company__slug="acme", kind="whatsapp")
    now = timezone.now()
    for minutes in (2, 40, 300):
        WebhookDelivery.objects.create(
            company_id=inbox.company_id,
            inbox=inbox,
            received_at=now - timedelta(minutes=minutes),
            content_type="application/json",
            body=b'{"object": "whatsapp_business_account", "entry": []}',
            state=WebhookDelivery.State.PROCESSED,
            events=1,
        )
    dead = WebhookDelivery.objects.create(
        company_id=inbox.company_id,
        inbox=inbox,
        received_at=now - timedelta(minutes=12),
        content_type="application/json",
        body=b'{"object": "whatsapp_business_account", "entry": [{"changes": "oops"}]}',
        state=WebhookDelivery.State.DEAD,
        reason="entry.0.changes: Input should be a valid list.",
    )
    conversation = Conversation.objects.filter(inbox=inbox).first()
    Message.objects.create(
        company_id=inbox.company_id,
        conversation=conversation,
        inbox=inbox,
        content="Your order ships tomorrow.",
        sender_type=Message.SenderType.AGENT,
        timestamp=now - timedelta(minutes=7),
        delivery_status=Message.DeliveryStatus.FAILED,
        delivery_attempts=6,
        last_error_code="131047",
        last_error="Meta answered 400: Re-engagement message (more than 24 hours since the "
        "customer last replied)",
    )
    failed = Message.objects.filter(
        inbox=inbox, sender_type="agent", delivery_status="failed", timestamp__gte=now - WEEK
    ).count()  # the demo's own failed replies, and this one
    replies = "1 failed reply" if failed == 1 else f"{failed} failed replies"

    sign_in(page, live_server.url, "admin@acme.example")
    page.locator("aside").get_by_role("link", name="Inboxes").click()
    row = page.locator(f'[data-inbox="{inbox.name}"]')
    expect(row.locator("[data-trouble]")).to_have_text(f"1 dead letter · {replies} in 7 days")
    expect(page.locator('[data-inbox="Acme Email"]')).to_contain_text("no delivery yet")
    screenshot(page, "inbox-list")

    health = row.get_by_role("link", name="Health")
    health.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(inbox.name)
    expect(page.get_by_text("1 delivery could not be read.")).to_be_visible()
    expect(page.locator('[data-stat="failed"]')).to_have_text(str(failed))
    expect(page.locator("[data-send]").first).to_contain_text("131047")
    expect(page.locator("[data-verify-token]")).to_have_text(inbox.verify_token)
    screenshot(page, "inbox-health")

    dead_row = page.locator(f'[data-delivery="{dead.pk}"]')
    expect(dead_row).to_contain_text("Input should be a valid list.")
    dead_row.get_by_text("What arrived").focus()
    page.keyboard.press("Enter")
    expect(dead_row.locator("pre")).to_contain_text('"changes": "oops"')
    dead_row.get_by_text("Reprocess…").focus()
    page.keyboard.press("Enter")
    expect(dead_row.get_by_text("Process this delivery again?")).to_be_visible()
    screenshot(page, "inbox-health-reprocess")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_text("queued to be processed again")).to_be_visible()
    expect(page.locator(f'[data-delivery="{dead.pk}"] [data-state]')).to_have_text("Received")
    # back in the queue: the task workers (none run here) process it like a new delivery
    assert WebhookDelivery.objects.get(pk=dead.pk).state == WebhookDelivery.State.RECEIVED
    assert DBTaskResult.objects.filter(task_path="inboxes.tasks.process_delivery").exists()

    page.get_by_role("link", name="Dead letters").click()
    expect(page.get_by_text("None to show.")).to_be_visible()


def test_an_inbox_with_no_delivery_explains_verified_but_nothing_arrives(
    page: Page, live_server, demo
):
    inbox = Inbox.objects.get(company__slug="acme", kind="whatsapp")
    sign_in(page, live_server.url, "admin@acme.example")
    page.goto(f"{live_server.url}/company/inboxes/{inbox.pk}/health/")
    finding = page.locator('[data-finding="warning"]').first
    expect(finding).to_contain_text("No delivery has arrived yet.")
    expect(finding).to_contain_text("subscribed to the messages field")
    expect(page.locator("[data-webhook-url]")).to_contain_text(
        f"/webhooks/whatsapp/{inbox.public_key}/"
    )
    screenshot(page, "inbox-health-empty")
