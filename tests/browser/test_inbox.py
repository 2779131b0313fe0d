"""Agents working the inbox in Chromium: read, reply, see each other, get guarded, use the keyboard."""

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from conversations.models import Conversation, Message
from tests.browser.conftest import sign_in_with_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base_url: str, email: str) -> None:
    sign_in_with_password(page, base_url, email)
    if "/inbox/" not in page.url:
        page.goto(base_url + "/inbox/")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()


def customer_writes(conversation: Conversation, text: str) -> Message:
    """What the inbound webhook service does: store the message, bump the conversation."""
    now = timezone.now()
    message = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        inbox=conversation.inbox,
        content=text,
        sender_type="customer",
        timestamp=now,
        delivery_status="delivered",
    )
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=now, updated_at=now, unread_count=conversation.unread_count + 1
    )
    return message


def open_first_unassigned_unread(page: Page) -> str:
    tab = page.locator("#inbox-tabs").get_by_role("link", name="Unassigned")
    tab.click()
    expect(tab).to_have_attribute("aria-current", "page")
    row = page.locator("a[data-row]").filter(has=page.locator("[data-unread]")).first
    expect(row).to_be_visible()
    name = row.locator("span.truncate").first.inner_text()
    conversation_id = row.get_attribute("data-conversation")
    row.click()
    expect(page.locator("#chat-header h2")).to_contain_text(name)
    return conversation_id


def test_agent_reads_an_unread_conversation_and_replies_with_enter(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ana@acme.example")
    conversation_id = open_first_unassigned_unread(page)
    row = page.locator(f"#conv-{conversation_id}")
    expect(row.locator("[data-unread]")).to_have_count(0, timeout=5000)  # read after a short delay
    assert Conversation.objects.get(pk=conversation_id).unread_count == 0

    composer = page.get_by_label("Reply to")
    composer.fill("Thanks for writing! Let me check that for you.")
    composer.press("Enter")
    reply = page.locator("#chat-messages li").filter(has_text="Let me check that for you.")
    expect(reply).to_be_visible()
    expect(reply.locator("[data-delivery]")).to_have_text("Pending")
    expect(composer).to_have_value("")
    conversation = Conversation.objects.select_related("assigned_user").get(pk=conversation_id)
    assert conversation.assigned_user.email == "ana@acme.example"  # replying claimed it
    assert conversation.status == "in-progress"
    expect(page.locator("#conversation-assignee")).to_have_value(str(conversation.assigned_user_id))


def test_shift_enter_adds_a_line_instead_of_sending(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ana@acme.example")
    open_first_unassigned_unread(page)
    composer = page.get_by_label("Reply to")
    composer.fill("First line")
    composer.press("Shift+Enter")
    composer.type("second line")
    expect(composer).to_have_value("First line\nsecond line")
    assert not Message.objects.filter(
        sender_type="agent", content__startswith="First line"
    ).exists()


def test_a_second_agent_sees_the_change_within_one_poll(
    browser: Browser, page: Page, live_server, demo
):
    sign_in(page, live_server.url, "ana@acme.example")
    ben = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(ben, live_server.url, "ben@acme.example")
    boss = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(boss, live_server.url, "admin@acme.example")
    conversation_id = open_first_unassigned_unread(page)
    ben.goto(f"{live_server.url}/inbox/c/{conversation_id}/?tab=unassigned")
    boss.goto(f"{live_server.url}/inbox/c/{conversation_id}/")
    # each sees the others on the same conversation
    expect(page.locator("[data-viewers]")).to_contain_text("Ben", timeout=8000)
    expect(ben.locator("[data-viewers]")).to_contain_text("Ana", timeout=8000)
    composer = page.get_by_label("Reply to")
    composer.fill("Ben, I have this one.")
    composer.press("Enter")
    expect(page.locator("#chat-messages").get_by_text("Ben, I have this one.")).to_be_visible()
    # the admin's chat poll (every 5 s) brings the reply and the new assignee
    expect(boss.locator("#chat-messages").get_by_text("Ben, I have this one.")).to_be_visible(
        timeout=7000
    )
    expect(boss.locator("#conversation-assignee option:checked")).to_have_text("Ana Silva")
    # Ana claimed it: Ben's chat turns read-only and says whose it is, his Unassigned list
    # drops the row
    expect(ben.locator("#chat-header")).to_contain_text(
        "Assigned to Ana Silva · read-only for you", timeout=7000
    )
    expect(ben.locator("#composer-input")).to_have_count(0)
    expect(ben.locator(f"#conv-{conversation_id}")).to_have_count(0, timeout=12000)
    ben.context.close()
    boss.context.close()


def test_the_send_guard_stops_a_reply_when_the_customer_writes_meanwhile(
    page: Page, live_server, demo
):
    sign_in(page, live_server.url, "ana@acme.example")
    conversation_id = open_first_unassigned_unread(page)
    composer = page.get_by_label("Reply to")
    composer.fill("Your parcel left our warehouse today.")
    customer_writes(Conversation.objects.get(pk=conversation_id), "Never mind, it just arrived!")
    composer.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("New activity: review before sending.")
    expect(
        page.locator("#chat-messages").get_by_text("Never mind, it just arrived!")
    ).to_be_visible()
    expect(page.get_by_label("Reply to")).to_have_value("Your parcel left our warehouse today.")
    assert not Message.objects.filter(content="Your parcel left our warehouse today.").exists()
    page.get_by_label("Reply to").press("Enter")  # reviewed: now it goes
    expect(
        page.locator("#chat-messages").get_by_text("Your parcel left our warehouse today.")
    ).to_be_visible()
    assert Message.objects.filter(content="Your parcel left our warehouse today.").count() == 1


def test_empty_and_too_long_messages_show_a_clear_error_and_keep_the_draft(
    page: Page, live_server, demo
):
    sign_in(page, live_server.url, "ana@acme.example")
    open_first_unassigned_unread(page)
    composer = page.get_by_label("Reply to")
    composer.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Type a message before sending.")
    too_long = "a" * 5001
    page.get_by_label("Reply to").fill(too_long)
    expect(page.locator("[data-counter]")).to_have_text("5,001 / 5,000")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "at most 5,000 characters; this one has 5,001"
    )
    expect(page.get_by_label("Reply to")).to_have_value(too_long)
    assert not Message.objects.filter(sender_type="agent", content__startswith="aaaa").exists()


def test_the_list_and_the_composer_work_by_keyboard_alone(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ana@acme.example")
    page.goto(live_server.url + "/inbox/?tab=all")
    page.keyboard.press("/")
    expect(page.locator("#list-search")).to_be_focused()
    page.keyboard.type("Maria")
    expect(page.locator("a[data-row]").first).to_contain_text("Maria", timeout=5000)
    page.keyboard.press("Escape")
    page.locator("#list-search").blur()
    page.keyboard.press("j")
    focused = page.locator("a[data-row]:focus")
    expect(focused).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#chat-header h2")).to_contain_text("Maria")
    expect(page.get_by_label("Reply to")).to_be_focused()
    page.keyboard.type("Typed without touching the mouse.")
    page.keyboard.press("Enter")
    expect(
        page.locator("#chat-messages").get_by_text("Typed without touching the mouse.")
    ).to_be_visible()


def test_tabs_filters_and_load_more(page: Page, live_server, demo):
    sign_in(page, live_server.url, "admin@acme.example")
    page.locator("#filter-status").select_option("any")
    page.wait_for_url("**status=any**")
    expect(page.locator("a[data-row]")).to_have_count(25)
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("a[data-row]")).to_have_count(50)
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("a[data-row]")).to_have_count(60)
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    page.locator("#filter-channel").select_option("email")
    page.wait_for_url("**channel=email**")
    expect(page.locator("a[data-row]")).to_have_count(12)


def test_agent_edits_the_customer_and_starts_a_conversation(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ana@acme.example")
    open_first_unassigned_unread(page)
    panel = page.locator("#customer-panel")
    panel.get_by_label("Name").fill("")
    panel.get_by_role("button", name="Save customer").click()
    expect(page.locator("#customer-panel [role=alert]")).to_contain_text(
        "Enter the customer's name"
    )
    page.locator("#customer-panel").get_by_label("Name").fill("Maria G. Renamed")
    page.locator("#customer-panel").get_by_label("VIP customer").check()
    page.locator("#customer-panel").get_by_role("button", name="Save customer").click()
    expect(page.locator("#customer-panel [role=status]")).to_have_text("Saved.")

    page.get_by_role("link", name="+ New").click()
    page.get_by_label("New customer").check()
    page.get_by_label("Name").fill("Walk-in Caller")
    page.get_by_label("Phone").fill("+4930123456")
    page.get_by_label("Channel").select_option("phone")
    page.get_by_label("First message or call notes").fill("Asked about opening hours; answered.")
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator("#chat-header h2")).to_contain_text("Walk-in Caller")
    expect(
        page.locator("#chat-messages").get_by_text("Asked about opening hours; answered.")
    ).to_be_visible()


def test_a_poll_brings_the_customers_message_and_the_draft_survives(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ana@acme.example")
    conversation_id = open_first_unassigned_unread(page)
    composer = page.get_by_label("Reply to")
    composer.fill("Half-written answer")
    customer_writes(Conversation.objects.get(pk=conversation_id), "Are you still there?")
    expect(page.locator("#chat-messages").get_by_text("Are you still there?")).to_be_visible(
        timeout=7000
    )
    expect(composer).to_have_value("Half-written answer")
    expect(page.locator("#chat-messages [data-message]")).to_have_count(
        Message.objects.filter(conversation_id=conversation_id).count()
    )
    composer.press("Enter")  # the poll showed the new message, so this is not refused
    expect(page.locator("#chat-messages").get_by_text("Half-written answer")).to_be_visible()
