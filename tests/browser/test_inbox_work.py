"""An agent's working day in Chromium, where it used to go wrong: tabs and filters that forget,
one arrow key that hands a conversation away, a customer panel that cannot be closed, banners
that push the composer off screen, colleagues' conversations, failed requests that say nothing,
and new activity that is easy to miss."""

import pytest
from django.db import OperationalError
from django.db.models import Q
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from conversations import services
from conversations.models import Conversation, Message
from tests.browser.conftest import sign_in_with_password
from tests.browser.test_inbox import customer_writes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def sign_in(page: Page, base_url: str, email: str = "ana@acme.example") -> User:
    sign_in_with_password(page, base_url, email)
    return User.objects.get(email=email)


def acme(**filters) -> Conversation:
    return (
        Conversation.objects.filter(company__slug="acme", **filters)
        .select_related("customer", "assigned_user")
        .order_by("-last_message_at")
        .first()
    )


def open_conversation(page: Page, base_url: str, conversation: Conversation, query="") -> None:
    page.goto(f"{base_url}/inbox/c/{conversation.pk}/{query}")
    expect(page.locator("#chat-header h2")).to_contain_text(conversation.customer.name)


def test_a_search_keeps_the_tab_that_was_clicked(page: Page, live_server, demo):
    sign_in(page, live_server.url)
    unassigned = acme(assigned_user=None, status="new")
    page.locator("#inbox-tabs").get_by_role("link", name="Unassigned").click()
    page.wait_for_url("**tab=unassigned**")
    page.get_by_label("Search conversations").fill(unassigned.customer.name)
    page.wait_for_url("**q=**")
    row = page.locator(f"#conv-{unassigned.pk}")
    expect(row).to_be_visible()
    expect(page.locator("[data-empty]")).to_have_count(0)
    assert "tab=unassigned" in page.url and "q=" in page.url
    expect(page.locator("#inbox-tabs [aria-current=page]")).to_contain_text("Unassigned")
    page.locator("#filter-channel").select_option(unassigned.channel)
    page.wait_for_url(f"**channel={unassigned.channel}**")
    expect(row).to_be_visible()
    assert "tab=unassigned" in page.url


def test_the_status_filter_on_a_conversation_url_offers_every_choice_and_applies_it(
    page: Page, live_server, demo
):
    sign_in(page, live_server.url, "admin@acme.example")
    resolved = acme(status="resolved")
    open_conversation(page, live_server.url, acme(status="in-progress"))
    options = page.locator("#filter-status option")
    expect(options).to_have_text(["Open", "New", "In progress", "Resolved", "Closed", "Any status"])
    page.locator("#filter-status").select_option("resolved")
    page.wait_for_url("**status=resolved**")
    expect(page.locator(f"#conv-{resolved.pk}")).to_be_visible()
    expect(page.locator("#conversation-list [data-row]").first).to_contain_text("Resolved")
    # the conversation stays open and the filter keeps the choice after a reload
    assert "/inbox/c/" in page.url
    page.reload()
    expect(page.locator("#filter-status")).to_have_value("resolved")


def test_arrow_keys_only_move_the_choice_and_a_handover_can_be_undone(
    page: Page, live_server, demo
):
    ana = sign_in(page, live_server.url)
    mine = acme(assigned_user=ana, status="in-progress")
    open_conversation(page, live_server.url, mine, "?tab=mine")
    assignee = page.locator("#conversation-assignee")
    assignee.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(assignee.locator("xpath=ancestor::form[1]")).to_have_attribute("data-dirty", "true")
    status = page.locator("#conversation-status")
    status.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(800)  # nothing is sent for a moved choice
    mine.refresh_from_db()
    assert (mine.assigned_user_id, mine.status) == (ana.pk, "in-progress")

    assignee.select_option(label="Ben Carter")
    assignee.focus()
    page.keyboard.press("Enter")  # an explicit choice commits
    notice = page.locator("#chat-notice")
    expect(notice).to_contain_text("Handed over to Ben Carter.")
    expect(page.locator("[data-read-only]").first).to_contain_text("read-only for you")
    expect(page.locator("#composer-input")).to_have_count(0)
    mine.refresh_from_db()
    assert mine.assigned_user.email == "ben@acme.example"

    notice.get_by_role("button", name="Undo").click()
    expect(notice).to_contain_text("Undone: it is yours again.")
    expect(page.get_by_label("Reply to")).to_be_visible()
    expect(page.get_by_label("Reply to")).to_have_value("")
    expect(page.locator("#conversation-assignee")).to_have_value(str(ana.pk))
    mine.refresh_from_db()
    assert mine.assigned_user_id == ana.pk

    page.locator("#conversation-status").select_option("resolved")
    page.get_by_role("button", name="Set status").click()
    expect(page.locator(f"#conv-{mine.pk}")).to_contain_text("Resolved")
    mine.refresh_from_db()
    assert mine.status == "resolved"


def test_the_undo_works_when_the_company_keeps_colleagues_conversations_private(
    page: Page, live_server, demo
):
    ana = sign_in(page, live_server.url)
    ana.company.agents_see_all_conversations = False
    ana.company.save()
    mine = acme(assigned_user=ana, status="in-progress")
    open_conversation(page, live_server.url, mine, "?tab=mine")
    page.get_by_label("Reply to").fill("Half a reply")
    page.locator("#conversation-assignee").select_option(label="Chloe Nguyen")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#chat-header")).to_contain_text("has left your view")
    expect(page.locator("#unsent-draft")).to_have_value("Half a reply")
    page.locator("#chat-notice").get_by_role("button", name="Undo").click()
    expect(page.locator("#chat-header h2")).to_contain_text(mine.customer.name)
    expect(page.get_by_label("Reply to")).to_have_value("Half a reply")  # the draft comes back
    mine.refresh_from_db()
    assert mine.assigned_user_id == ana.pk


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, PHONE])
def test_the_customer_panel_saves_in_place_and_closes(
    browser: Browser, live_server, demo, viewport
):
    page = browser.new_context(viewport=viewport).new_page()
    ana = sign_in(page, live_server.url)
    mine = acme(assigned_user=ana, status="in-progress")
    open_conversation(page, live_server.url, mine, "?tab=mine")
    panel = page.locator("#customer-panel")
    toggle = page.get_by_role("button", name="Customer", exact=True)
    if viewport is PHONE:
        expect(panel).to_be_hidden()
        toggle.click()
        expect(panel).to_be_visible()
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(toggle).to_be_focused()
        toggle.click()
    panel.get_by_label("Name").fill("Renamed Customer")
    panel.get_by_role("button", name="Save customer").click()
    expect(panel.get_by_role("status")).to_have_text("Saved.")
    # the new name reaches the chat header and the list row at once
    expect(page.locator("#chat-header h2")).to_contain_text("Renamed Customer")
    expect(page.locator(f"#conv-{mine.pk} [data-customer-name]")).to_have_text("Renamed Customer")
    if viewport is PHONE:
        panel.get_by_role("button", name="Close").click()
        expect(panel).to_be_hidden()
        expect(page.get_by_role("button", name="Send")).to_be_visible()
    else:
        # beside the chat, never an overlay over Send
        assert panel.evaluate("el => getComputedStyle(el).position") == "static"
        send = page.get_by_role("button", name="Send").bounding_box()
        box = panel.bounding_box()
        assert send["x"] + send["width"] <= box["x"]
    page.context.close()


@pytest.mark.parametrize("viewport", [{"width": 1440, "height": 900}, PHONE])
def test_a_banner_never_pushes_the_composer_off_screen(
    browser: Browser, live_server, demo, viewport
):
    page = browser.new_context(viewport=viewport).new_page()
    sign_in(page, live_server.url)
    page.goto(live_server.url + "/inbox/new/")
    page.get_by_label("New customer").check()
    page.get_by_label("Name").fill("Banner Test")
    page.get_by_label("Phone").fill("+4930123499")
    page.get_by_label("Channel").select_option("phone")
    page.get_by_label("First message or call notes").fill("Called about a banner.")
    page.get_by_role("button", name="Start conversation").click()
    expect(page.get_by_text("Conversation started.")).to_be_visible()
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_in_viewport(ratio=1)
    box = send.bounding_box()
    assert box["y"] + box["height"] <= viewport["height"]
    page.get_by_role("button", name="Dismiss this message").click()
    expect(page.get_by_text("Conversation started.")).to_have_count(0)
    page.context.close()


def test_a_rows_preview_stays_the_last_message_after_it_is_opened(page: Page, live_server, demo):
    sign_in(page, live_server.url)
    conversation = acme(assigned_user=None, status="new", unread_count__gt=0)
    Conversation.objects.filter(pk=conversation.pk).update(subject="The subject line")
    page.goto(live_server.url + "/inbox/?tab=unassigned")
    row = page.locator(f"#conv-{conversation.pk}")
    preview = row.locator("[data-preview]").inner_text()
    assert "The subject line" not in preview
    row.locator("a").click()
    expect(row.locator("[data-unread]")).to_have_count(0, timeout=5000)  # read: row refreshed
    expect(row.locator("[data-preview]")).to_have_text(preview)


def test_an_agent_reads_a_colleagues_conversation_and_the_customers_whole_history(
    page: Page, live_server, demo
):
    sign_in(page, live_server.url)
    bens = acme(assigned_user__email="ben@acme.example")
    page.goto(live_server.url + "/inbox/?tab=all&status=any")
    page.locator(f"#conv-{bens.pk} a").click()
    header = page.locator("#chat-header")
    expect(header).to_contain_text("Assigned to Ben Carter · read-only for you")
    expect(page.locator("#composer")).to_contain_text("Only Ben or a company admin can reply")
    expect(page.locator("#composer-input")).to_have_count(0)
    expect(header.get_by_role("button", name="Assign to me")).to_have_count(0)
    page.get_by_role("link", name=f"Whole history of {bens.customer.name}").click()
    expect(page.get_by_role("heading", name=bens.customer.name)).to_be_visible()
    rows = page.locator("[data-history-row]")
    expected = Conversation.objects.filter(customer=bens.customer).count()
    expect(rows).to_have_count(expected)
    rows.first.click()
    expect(page.locator("#chat-header h2")).to_contain_text(bens.customer.name)


def test_a_reply_refused_because_a_colleague_claimed_it_says_so_and_keeps_the_draft(
    page: Page, live_server, demo
):
    sign_in(page, live_server.url)
    queued = acme(assigned_user=None, status="new")
    open_conversation(page, live_server.url, queued, "?tab=unassigned")
    composer = page.get_by_label("Reply to")
    composer.fill("I can help with that right away.")
    ben = User.objects.get(email="ben@acme.example")
    services.assign_conversation(
        ben, company_id=ben.company_id, conversation_id=queued.pk, assignee_id=ben.pk
    )
    composer.press("Enter")
    alert = page.locator("#request-error")
    expect(alert).to_be_visible()
    expect(alert.get_by_role("alert")).to_contain_text("Not sent: Ben is assigned")
    expect(alert).to_contain_text("Your draft is kept.")
    # the next poll shows it is Ben's now; the draft moves to a copy the agent can take
    expect(page.locator("#chat-header")).to_contain_text("Assigned to Ben Carter", timeout=8000)
    expect(page.locator("#unsent-draft")).to_have_value("I can help with that right away.")
    assert not Message.objects.filter(content="I can help with that right away.").exists()


def test_a_server_error_or_lost_connection_is_shown_and_the_draft_kept(
    page: Page, live_server, demo, monkeypatch
):
    ana = sign_in(page, live_server.url)
    mine = acme(assigned_user=ana, status="in-progress")
    open_conversation(page, live_server.url, mine, "?tab=mine")

    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(services, "send_agent_reply", database_down)
    composer = page.get_by_label("Reply to")
    composer.fill("This must not vanish.")
    composer.press("Enter")
    alert = page.locator("#request-error")
    expect(alert.get_by_role("alert")).to_have_text(
        "Not sent: Something went wrong on our side. Try again in a moment. Your draft is kept."
    )
    expect(composer).to_have_value("This must not vanish.")
    expect(composer).to_be_enabled()
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_be_hidden()

    page.route("**/reply/", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Send").click()
    expect(alert.get_by_role("alert")).to_contain_text("Not sent: cannot reach the hub.")
    expect(composer).to_have_value("This must not vanish.")
    page.unroute("**/reply/")
    monkeypatch.undo()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#chat-messages").get_by_text("This must not vanish.")).to_be_visible()
    expect(alert).to_be_hidden()


def test_new_activity_shows_in_the_title_the_row_and_opt_in_alerts(
    browser: Browser, live_server, demo
):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    # count the sounds and notifications the page makes; pretend the tab is in the background
    context.add_init_script("""
        window.__alerts = {beeps: 0, notes: []};
        window.AudioContext = class {
            constructor() { this.state = "running"; this.currentTime = 0; this.destination = {}; }
            resume() {}
            createOscillator() { return {frequency: {}, connect: (g) => g, start() { window.__alerts.beeps++; }, stop() {}}; }
            createGain() { return {gain: {setValueAtTime() {}, exponentialRampToValueAtTime() {}}, connect: (d) => d}; }
        };
        window.Notification = class {
            static permission = "granted";
            static requestPermission() { return Promise.resolve("granted"); }
            constructor(title, options) { window.__alerts.notes.push([title, options.body]); }
            close() {}
        };
        Object.defineProperty(document, "hidden", {get: () => true});
    """)
    page = context.new_page()
    ana = sign_in(page, live_server.url)
    page.goto(live_server.url + "/inbox/?tab=mine")
    unread = Conversation.objects.filter(
        Q(assigned_user=ana) | Q(assigned_user__isnull=True),
        company=ana.company_id,
        unread_count__gt=0,
        status__in=["new", "in-progress"],
    )
    assert page.title().startswith(f"({unread.count()}) Inbox")

    page.get_by_label("Alerts for new messages").click()
    page.get_by_label("Play a sound").check()
    page.get_by_label("Show a desktop notification").check()
    page.reload()
    page.get_by_label("Alerts for new messages").click()
    expect(page.get_by_label("Play a sound")).to_be_checked()
    expect(page.get_by_label("Show a desktop notification")).to_be_checked()
    page.keyboard.press("Escape")
    beeps_before = page.evaluate("window.__alerts.beeps")

    # Ana read one of hers earlier; the customer writes again since
    mine = acme(assigned_user=ana, status="in-progress")
    Conversation.objects.filter(pk=mine.pk).update(unread_count=0)
    mine.refresh_from_db()
    open_conversation(page, live_server.url, mine, "?tab=mine")
    page.goto(live_server.url + "/inbox/?tab=mine")
    expect(page.locator(f"#conv-{mine.pk} [data-changed]")).to_have_count(0)
    customer_writes(mine, "One more question about my order")
    row = page.locator(f"#conv-{mine.pk}")
    expect(row.locator("[data-changed]")).to_be_visible(timeout=12000)
    expect(row.locator("[data-preview]")).to_have_text("One more question about my order")
    assert page.evaluate("window.__alerts.beeps") > beeps_before
    notes = page.evaluate("window.__alerts.notes")
    assert [mine.customer.name, "One more question about my order"] in notes
    expect(page).to_have_title(f"({unread.count()}) Inbox · Hub")
    # opening it clears the marker
    row.locator("a").click()
    expect(row.locator("[data-changed]")).to_have_count(0)
    # another tab shows other unread rows: that is not news, nothing sounds
    beeps = page.evaluate("window.__alerts.beeps")
    page.locator("#inbox-tabs").get_by_role("link", name="Unassigned").click()
    expect(page.locator("#inbox-tabs [aria-current=page]")).to_contain_text("Unassigned")
    expect(page.locator("#conversation-list [data-unread]").first).to_be_visible()
    assert page.evaluate("window.__alerts.beeps") == beeps
    context.close()


def test_keyboard_shortcuts_for_help_next_unread_assign_resolve_and_leaving_the_composer(
    page: Page, live_server, demo
):
    ana = sign_in(page, live_server.url)
    page.goto(live_server.url + "/inbox/?tab=unassigned")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Resolve the open conversation")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    first_unread = page.locator("a[data-row]").filter(has=page.locator("[data-unread]")).first
    name = first_unread.locator("[data-customer-name]").inner_text()
    page.keyboard.press("n")  # the first conversation with unread messages
    expect(page.locator("#chat-header h2")).to_contain_text(name)
    conversation_id = int(page.locator("#chat-column").get_attribute("data-conversation"))
    expect(page.get_by_label("Reply to")).to_be_focused()
    page.keyboard.press("Escape")  # leaves the composer, so shortcuts work again
    expect(page.get_by_label("Reply to")).not_to_be_focused()

    page.keyboard.press("a")
    expect(page.locator("#conversation-assignee")).to_have_attribute("data-current", str(ana.pk))
    assert Conversation.objects.get(pk=conversation_id).assigned_user_id == ana.pk
    page.keyboard.press("e")
    expect(page.locator("#conversation-status")).to_have_attribute("data-current", "resolved")
    assert Conversation.objects.get(pk=conversation_id).status == "resolved"
    page.keyboard.press("r")
    expect(page.get_by_label("Reply to")).to_be_focused()
