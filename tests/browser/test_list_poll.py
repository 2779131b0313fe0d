"""The list poll in Chromium: a changed row is updated where it is, the rest of the list (its
elements, the focus, the scroll position) stays as it was."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from conversations.models import Conversation, ConversationViewer
from tests.browser.test_inbox import customer_writes, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ONE_POLL = 13_000  # the list polls every 10 s


@pytest.fixture
def settled_demo(demo):
    """The demo as if its conversations had changed one by one a while ago: the seed changes more
    conversations in a moment than a list's token names, and those would come back once with the
    first poll (equal times would also leave which of them the token names to the plan)."""
    settled = timezone.now() - timedelta(minutes=10)
    for step, pk in enumerate(Conversation.objects.order_by("-id").values_list("pk", flat=True)):
        Conversation.objects.filter(pk=pk).update(updated_at=settled - timedelta(seconds=3 * step))


def test_a_poll_updates_one_row_in_place_and_keeps_the_focus(page: Page, live_server, settled_demo):
    sign_in(page, live_server.url, "ana@acme.example")
    page.goto(f"{live_server.url}/inbox/?tab=all&status=any")
    rows = page.locator("#conversation-list a[data-row]")
    expect(rows.nth(3)).to_be_visible()
    ids = [int(rows.nth(i).get_attribute("data-conversation")) for i in range(4)]
    focused, changed, untouched = ids[1], ids[2], ids[3]
    # mark the elements now in the list: a re-rendered list would lose the marks
    page.evaluate(
        """() => document.querySelectorAll('#conversation-list li[id^="conv-"]')
                 .forEach((li) => { li.dataset.before = '1'; })"""
    )
    page.locator(f"#conv-{focused} a[data-row]").focus()
    # a colleague opens the third row: its presence marker changes, its place does not
    ben = User.objects.get(email="ben@acme.example")
    conversation = Conversation.objects.get(pk=changed)
    ConversationViewer.objects.update_or_create(
        company_id=conversation.company_id,
        conversation=conversation,
        user=ben,
        defaults={"seen_at": timezone.now() + timedelta(seconds=30)},
    )
    row = page.locator(f"#conv-{changed}")
    expect(row.locator("[data-viewing]")).to_contain_text("Ben", timeout=ONE_POLL)
    assert row.get_attribute("data-before") is None  # this row was rendered again
    order = [int(rows.nth(i).get_attribute("data-conversation")) for i in range(4)]
    assert order == ids  # in the same place
    for other in (ids[0], focused, untouched):  # the others are the same elements
        assert page.locator(f"#conv-{other}").get_attribute("data-before") == "1"
    assert page.evaluate("document.activeElement.closest('li').id") == f"conv-{focused}"


def test_a_new_message_moves_its_row_to_the_top_and_keeps_the_focus(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ana@acme.example")
    page.goto(f"{live_server.url}/inbox/?tab=all&status=any")
    rows = page.locator("#conversation-list a[data-row]")
    expect(rows.nth(4)).to_be_visible()
    ids = [int(rows.nth(i).get_attribute("data-conversation")) for i in range(5)]
    search = page.locator("#list-search")
    search.focus()
    conversation = Conversation.objects.get(pk=ids[4])
    customer_writes(conversation, "Is there any news on my parcel?")
    top = rows.first
    expect(top).to_have_attribute("data-conversation", str(ids[4]), timeout=ONE_POLL)
    expect(top.locator("[data-preview]")).to_contain_text("Is there any news on my parcel?")
    expect(page.locator(f"#conversation-list #conv-{ids[4]}")).to_have_count(1)
    order = [int(rows.nth(i).get_attribute("data-conversation")) for i in range(5)]
    assert order == [ids[4], *ids[:4]]
    expect(search).to_be_focused()
