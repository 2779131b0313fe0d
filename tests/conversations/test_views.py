"""The inbox views: status, template, scoping, query budgets and polls."""

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from conversations import selectors
from conversations.models import Conversation, Message
from tests.conftest import signed_in
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    CustomerFactory,
    InboxFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def make_conversations(company, n, **fields):
    inbox = InboxFactory(company=company)
    now = timezone.now()
    conversations = []
    for i in range(n):
        customer = CustomerFactory(company=company)
        conversation = ConversationFactory(
            company=company,
            customer=customer,
            inbox=inbox,
            last_message_at=now - timedelta(minutes=i),
            **fields,
        )
        MessageFactory(conversation=conversation, content=f"Message number {i}")
        conversations.append(conversation)
    return conversations


@pytest.fixture
def company():
    return CompanyFactory()


@pytest.fixture
def agent(company):
    return UserFactory(company=company, role=Role.AGENT, first_name="Ana")


@pytest.fixture
def client_for(agent):
    return signed_in(agent)


def list_queries(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("rows", [5, 50])
def test_the_inbox_page_runs_a_fixed_number_of_queries(
    company, agent, client_for, rows, django_assert_num_queries
):
    make_conversations(company, rows, assigned_user=None)
    client_for.get(reverse("conversations:inbox"))  # warm the session
    # session, user+company, tab counts with the unread count and the change token, rows with
    # previews, presence and last looks
    with django_assert_num_queries(5):
        response = client_for.get(reverse("conversations:inbox") + "?tab=unassigned")
    assert response.status_code == 200
    assert response.templates[0].name == "conversations/inbox.html"
    assert len(response.context["page"].rows) == min(rows, selectors.PAGE_SIZE)


@pytest.mark.parametrize("rows", [5, 50])
def test_the_list_partial_runs_a_fixed_number_of_queries(
    company, agent, client_for, rows, django_assert_num_queries
):
    make_conversations(company, rows, assigned_user=None)
    with django_assert_num_queries(5):
        response = client_for.get(
            reverse("conversations:inbox") + "?tab=all",
            headers={**HTMX, "HX-Target": "conversation-list"},
        )
    assert b'id="conversation-list"' in response.content
    assert b"<html" not in response.content


@pytest.mark.parametrize("count", [10, 200])
def test_the_chat_pane_runs_a_fixed_number_of_queries(
    company, agent, client_for, count, django_assert_num_queries
):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    for _ in range(count):
        MessageFactory(conversation=conversation)
    # session, user, conversation, latest 51 messages (their files: one more query only when
    # some message has a file), token, presence (an upsert: one statement per poll afterwards),
    # assignees, other conversations
    with django_assert_num_queries(8):
        response = client_for.get(
            reverse("conversations:conversation", args=[conversation.pk]),
            headers={**HTMX, "HX-Target": "chat-column"},
        )
    shown = response.context["chat"].messages
    assert len(shown) == min(count, selectors.CHAT_PAGE_SIZE)
    assert response.context["chat"].has_earlier == (count > selectors.CHAT_PAGE_SIZE)
    assert shown == sorted(shown, key=lambda m: (m.timestamp, m.pk))  # oldest to newest


def test_load_earlier_pages_back_through_a_long_conversation(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    start = timezone.now() - timedelta(hours=5)
    messages = [
        MessageFactory(
            conversation=conversation, timestamp=start + timedelta(seconds=i), content=f"m{i}"
        )
        for i in range(120)
    ]
    latest = selectors.chat_messages(conversation)
    earlier = client_for.get(
        reverse("conversations:earlier", args=[conversation.pk])
        + f"?before={latest.messages[0].pk}"
    )
    page = earlier.context["chat"]
    assert [m.pk for m in page.messages] == [m.pk for m in messages[20:70]]
    assert page.has_earlier


def test_unchanged_chat_poll_is_204_after_one_query(
    company, agent, client_for, django_assert_num_queries
):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    state = selectors.see_conversation(agent, company, conversation.pk)
    url = reverse("conversations:poll", args=[conversation.pk])
    with django_assert_num_queries(3):
        response = client_for.get(url, {"v": state.version, "after": 0}, headers=HTMX)
    assert response.status_code == 204


def test_changed_chat_poll_appends_only_the_new_messages(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    old = MessageFactory(conversation=conversation, content="old one")
    state = selectors.see_conversation(agent, company, conversation.pk)
    new = MessageFactory(conversation=conversation, content="brand new message")
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now())
    url = reverse("conversations:poll", args=[conversation.pk])
    response = client_for.get(
        url, {"v": state.version, "last_seen": old.pk, "rw": "1"}, headers=HTMX
    )
    assert response.status_code == 200
    assert b"brand new message" in response.content
    assert b"old one" not in response.content
    # the chat's "newest seen", which every send carries, moves, so a send after this poll is
    # not refused as new activity
    state = re.search(rb'<div id="chat-state".*?</div>', response.content, re.S).group()
    assert b'hx-swap-oob="true"' in state
    assert f'name="last_seen" value="{new.pk}"'.encode() in state
    assert b'id="composer"' not in response.content  # the draft in the composer is left alone


def test_a_colleague_viewing_shows_in_the_chat_and_the_list(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=None)
    colleague = UserFactory(company=company, role=Role.AGENT, first_name="Ben")
    selectors.see_conversation(colleague, company, conversation.pk)
    chat = client_for.get(
        reverse("conversations:conversation", args=[conversation.pk]), {"tab": "unassigned"}
    )
    assert b"Ben is viewing this conversation too" in chat.content
    assert b"Ben viewing" in chat.content  # the list row


def test_keyset_pages_never_overlap_and_never_offset(company, agent, client_for):
    conversations = make_conversations(company, 60, assigned_user=agent)
    first = client_for.get(reverse("conversations:inbox") + "?tab=mine")
    cursor = first.context["page"].next_cursor
    seen = [c.pk for c in first.context["page"].rows]
    while cursor:
        with CaptureQueriesContext(connection) as queries:
            more = client_for.get(
                reverse("conversations:more"), {"tab": "mine", "after": str(cursor)}
            )
        assert more.status_code == 200
        assert not any("OFFSET" in q["sql"] for q in queries.captured_queries)
        html = more.content.decode()
        seen += [int(pk) for pk in re.findall(r'<li id="conv-(\d+)"', html)]
        found = re.search(r"after=([^&\"]+)", html)
        cursor = unquote(found.group(1)) if found else None
    assert seen == [c.pk for c in conversations]


def test_load_more_rejects_a_malformed_cursor(client_for):
    assert client_for.get(reverse("conversations:more") + "?after=garbage").status_code == 400


def test_tab_counts_are_capped(company, agent, client_for, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    make_conversations(company, 5, assigned_user=None)
    response = client_for.get(reverse("conversations:inbox") + "?tab=unassigned")
    assert response.context["count_labels"]["unassigned"] == "3+"
    assert response.context["count_labels"]["mine"] == "0"


def test_tab_counts_are_one_statement(company, agent):
    make_conversations(company, 4, assigned_user=None)
    with CaptureQueriesContext(connection) as queries:
        counts = selectors.tab_counts(agent, company, selectors.InboxFilter(tab="all"))
    assert len(queries.captured_queries) == 1
    assert (counts.mine, counts.unassigned, counts.all) == (0, 4, 4)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("zorba", True),
        ("Zorb", True),
        ("zorba@example", True),
        ("4155550199", True),
        ("parcel", True),
        ("nothing-like-it", False),
    ],
)
def test_search_finds_by_customer_identity_and_message_text(
    company, agent, client_for, query, expected
):
    customer = CustomerFactory(
        company=company, name="Zorba Quinn", email="zorba@example.com", phone="+14155550199"
    )
    conversation = ConversationFactory(company=company, customer=customer, assigned_user=None)
    MessageFactory(conversation=conversation, content="Where is my parcel?")
    make_conversations(company, 3, assigned_user=None)
    response = client_for.get(reverse("conversations:inbox"), {"tab": "all", "q": query})
    found = [c.pk for c in response.context["page"].rows]
    assert (conversation.pk in found) is expected
    if expected:
        assert found == [conversation.pk]


def test_an_agent_reads_a_colleagues_conversation_without_controls(company, agent, client_for):
    colleague = UserFactory(company=company, role=Role.AGENT, first_name="Ben", last_name="Ortiz")
    theirs = ConversationFactory(company=company, assigned_user=colleague, unread_count=1)
    MessageFactory(conversation=theirs, content="Where is my parcel?", is_read=False)
    page = client_for.get(reverse("conversations:conversation", args=[theirs.pk]))
    assert page.status_code == 200
    assert b"Where is my parcel?" in page.content
    assert b"Assigned to <strong" in page.content and b"Ben Ortiz" in page.content
    assert b"read-only for you" in page.content
    for control in (b'id="composer-input"', b'id="conversation-status"', b"data-assign-me"):
        assert control not in page.content
    assert reverse("conversations:read", args=[theirs.pk]).encode() not in page.content
    admin = signed_in(UserFactory(company=company, role=Role.COMPANY_ADMIN))
    page = admin.get(reverse("conversations:conversation", args=[theirs.pk]))
    assert b'id="composer-input"' in page.content and b"data-assign-me" in page.content


@pytest.mark.parametrize(
    "name, data",
    [
        ("conversations:reply", {"content": "Mine now", "last_seen": "0"}),
        ("conversations:status", {"status": "resolved"}),
        ("conversations:assign", {"assignee": "me"}),
        ("conversations:read", {}),
    ],
)
def test_a_crafted_change_to_a_colleagues_conversation_is_403_with_the_reason(
    company, agent, client_for, name, data
):
    colleague = UserFactory(company=company, role=Role.AGENT, first_name="Ben")
    theirs = ConversationFactory(company=company, assigned_user=colleague, unread_count=1)
    url = reverse(name, args=[theirs.pk])
    page = client_for.post(url, data)
    assert page.status_code == 403
    assert b"Ben is assigned to this conversation" in page.content
    htmx = client_for.post(url, data, headers=HTMX)
    assert htmx.status_code == 403
    assert htmx["Content-Type"].startswith("text/plain")
    assert htmx.content.decode().startswith("Ben is assigned to this conversation")
    theirs.refresh_from_db()
    assert (theirs.assigned_user, theirs.status, theirs.unread_count) == (colleague, "new", 1)
    assert not Message.objects.filter(conversation=theirs).exists()


def test_a_company_can_keep_colleagues_conversations_from_agents(company, agent, client_for):
    company.agents_see_all_conversations = False
    company.save()
    colleague = UserFactory(company=company, role=Role.AGENT)
    theirs = ConversationFactory(company=company, assigned_user=colleague)
    ConversationFactory(company=company, assigned_user=None, customer=theirs.customer)
    assert (
        client_for.get(reverse("conversations:conversation", args=[theirs.pk])).status_code == 404
    )
    everything = client_for.get(reverse("conversations:inbox") + "?tab=all&status=any")
    assert theirs not in everything.context["page"].rows
    assert everything.context["counts"].all == 1  # Mine + Unassigned
    history = client_for.get(reverse("customers:history", args=[theirs.customer_id]))
    assert theirs not in history.context["page"].object_list
    assert history.context["page"].paginator.count == 1


CONVERSATION_URLS = [
    ("get", "conversations:conversation", {}),
    ("get", "conversations:poll", {}),
    ("get", "conversations:earlier", {}),
    ("post", "conversations:reply", {"content": "hi", "last_seen": "0"}),
    ("post", "conversations:status", {"status": "resolved"}),
    ("post", "conversations:assign", {"assignee": "me"}),
    ("post", "conversations:read", {}),
    ("post", "conversations:customer", {"name": "X"}),
]


@pytest.mark.parametrize("method, name, data", CONVERSATION_URLS)
def test_another_companys_conversation_is_a_404_everywhere(method, name, data):
    foreign = ConversationFactory()
    MessageFactory(conversation=foreign)
    admin = signed_in(UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN))
    url = reverse(name, args=[foreign.pk])
    response = getattr(admin, method)(url + ("?before=1" if name.endswith("earlier") else ""), data)
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "new" and foreign.assigned_user is None


def test_retry_of_another_companys_message_is_a_404():
    foreign = MessageFactory(sender_type="agent", delivery_status="failed")
    admin = signed_in(UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN))
    url = reverse("conversations:retry", args=[foreign.conversation_id, foreign.pk])
    assert admin.post(url).status_code == 404


def test_reply_errors_keep_the_draft(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    url = reverse("conversations:reply", args=[conversation.pk])
    empty = client_for.post(url, {"content": "   ", "last_seen": "0"}, headers=HTMX)
    assert empty.status_code == 422
    assert b"Type a message before sending." in empty.content
    too_long = client_for.post(url, {"content": "z" * 5001, "last_seen": "0"}, headers=HTMX)
    assert too_long.status_code == 422
    assert b"at most 5,000 characters" in too_long.content
    assert b"z" * 5001 in too_long.content  # the draft comes back in the box
    assert not Message.objects.filter(sender_type="agent").exists()


def test_reply_send_guard_returns_the_new_messages_and_the_draft(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    seen = MessageFactory(conversation=conversation, content="first")
    MessageFactory(conversation=conversation, content="Never mind, found it!")
    response = client_for.post(
        reverse("conversations:reply", args=[conversation.pk]),
        {"content": "Let me check your order.", "last_seen": str(seen.pk)},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert b"New activity: review before sending." in response.content
    assert b"Never mind, found it!" in response.content
    assert b"Let me check your order." in response.content


def test_reply_success_appends_the_message_and_empties_the_composer(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=None)
    asked = MessageFactory(conversation=conversation)  # the customer wrote: a reply may go out
    response = client_for.post(
        reverse("conversations:reply", args=[conversation.pk]),
        {"content": "On it!", "last_seen": asked.pk},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert b"On it!" in response.content
    assert b"Pending" in response.content
    conversation.refresh_from_db()
    assert conversation.assigned_user == agent


def test_mark_read_returns_the_row_without_a_badge(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent, unread_count=2)
    MessageFactory.create_batch(2, conversation=conversation, is_read=False)
    response = client_for.post(reverse("conversations:read", args=[conversation.pk]), headers=HTMX)
    assert response.status_code == 200
    assert b"data-unread" not in response.content
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_customer_panel_edits_name_and_vip_and_rejects_a_blank_name(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    url = reverse("conversations:customer", args=[conversation.pk])
    ok = client_for.post(url, {"name": "Renamed Person", "is_vip": "on"}, headers=HTMX)
    assert ok.status_code == 200
    conversation.customer.refresh_from_db()
    assert (conversation.customer.name, conversation.customer.is_vip) == ("Renamed Person", True)
    bad = client_for.post(url, {"name": "  "}, headers=HTMX)
    assert bad.status_code == 422
    conversation.customer.refresh_from_db()
    assert conversation.customer.name == "Renamed Person"


def test_start_form_creates_a_conversation_and_shows_errors(company, agent, client_for):
    url = reverse("conversations:start")
    assert client_for.get(url).status_code == 200
    bad = client_for.post(url, {"mode": "new", "channel": "phone", "phone": "0155", "content": "x"})
    assert bad.status_code == 422
    assert b"international format" in bad.content
    good = client_for.post(
        url,
        {
            "mode": "new",
            "name": "Tom Caller",
            "phone": "+4930123456",
            "channel": "phone",
            "content": "Called about billing.",
        },
    )
    assert good.status_code == 302
    conversation = Conversation.objects.get(customer__name="Tom Caller")
    assert good["Location"] == reverse("conversations:conversation", args=[conversation.pk])


def test_customer_choices_are_scoped_to_the_company(company, agent, client_for):
    CustomerFactory(company=company, name="Quentin Ours")
    CustomerFactory(company=CompanyFactory(), name="Quentin Theirs")
    response = client_for.get(reverse("conversations:customer-choices") + "?q=quentin")
    assert b"Quentin Ours" in response.content
    assert b"Quentin Theirs" not in response.content


def test_anonymous_poll_gets_a_client_redirect_to_sign_in(company):
    conversation = ConversationFactory(company=company)
    response = Client().get(reverse("conversations:poll", args=[conversation.pk]), headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))


def test_retry_requeues_a_failed_message_and_shows_it_pending(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    failed = MessageFactory(
        conversation=conversation,
        sender_type="agent",
        sender_user=agent,
        delivery_status="failed",
        last_error="Provider said no.",
    )
    response = client_for.post(
        reverse("conversations:retry", args=[conversation.pk, failed.pk]), headers=HTMX
    )
    assert response.status_code == 200
    assert b"Pending" in response.content and b"Ana" in response.content
    failed.refresh_from_db()
    assert failed.delivery_status == "pending"
    again = client_for.post(
        reverse("conversations:retry", args=[conversation.pk, failed.pk]), headers=HTMX
    )
    assert again.status_code == 400


def test_malformed_chat_values_are_refused_before_anything_is_stored(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    first = MessageFactory(conversation=conversation)
    reply_url = reverse("conversations:reply", args=[conversation.pk])
    for data in (
        {"content": "Stored before the 500?", "last_seen": "abc"},
        {"content": "Stored before the 500?", "last_seen": "9" * 30},
        {"content": "Has a \x00 in it", "last_seen": str(first.pk)},
    ):
        response = client_for.post(reply_url, data, headers=HTMX)
        assert response.status_code == 422
        assert b'id="composer-error"' in response.content
        assert data["content"].encode() in response.content  # the draft comes back
    assert not Message.objects.filter(sender_type="agent").exists()
    pk = conversation.pk
    for url, params in (
        (reverse("conversations:poll", args=[pk]), {"last_seen": "abc"}),
        (reverse("conversations:poll", args=[pk]), {"rw": "maybe"}),
        (reverse("conversations:earlier", args=[pk]), {"before": "²"}),
        (reverse("conversations:more"), {"after": "2026-01-01T00:00:00+00:00_1", "open": "²"}),
        (reverse("conversations:more"), {"after": "yesterday"}),
    ):
        response = client_for.get(url, params, headers=HTMX)
        assert response.status_code == 400, (url, params)
        assert response["Content-Type"].startswith("text/plain")
    response = client_for.post(
        reverse("conversations:assign", args=[pk]), {"assignee": "²"}, headers=HTMX
    )
    assert (response.status_code, response.content) == (
        400,
        b"Assignee: Choose someone to assign to.",
    )
    conversation.refresh_from_db()
    assert conversation.assigned_user == agent


def test_a_retry_of_an_unknown_message_is_a_404(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    for message_pk in (10**12, 10**20):
        url = reverse("conversations:retry", args=[conversation.pk, message_pk])
        response = client_for.post(url, headers=HTMX)
        assert response.status_code == 404
        assert response.content == b"That message is not in this conversation."


def test_the_inbox_says_it_varies_by_the_htmx_headers(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    url = reverse("conversations:conversation", args=[conversation.pk])
    bodies = set()
    for headers in (
        {},
        {**HTMX, "HX-Target": "conversation-list"},
        {**HTMX, "HX-Target": "chat-column"},
    ):
        response = client_for.get(url, headers=headers)
        vary = {v.strip().lower() for v in response["Vary"].split(",")}
        assert {"hx-request", "hx-target"} <= vary
        bodies.add(response.content)
    assert len(bodies) == 3  # one URL, three bodies: hence the Vary
    poll = client_for.get(reverse("conversations:poll", args=[conversation.pk]), headers=HTMX)
    assert "HX-Request" in poll["Vary"]


def test_the_status_filter_on_a_conversation_url_lists_the_filters(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    url = reverse("conversations:conversation", args=[conversation.pk])
    page = client_for.get(url, {"status": "resolved"})
    select = re.search(rb'<select id="filter-status".*?</select>', page.content, re.S).group()
    labels = re.findall(rb'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    assert labels == [
        (b"open", b"Open"),
        (b"new", b"New"),
        (b"in-progress", b"In progress"),
        (b"resolved", b"Resolved"),
        (b"closed", b"Closed"),
        (b"any", b"Any status"),
    ]
    assert b'<option value="resolved" selected>' in select
    assert page.context["flt"].status == "resolved"


def test_the_chosen_tab_is_part_of_the_filter_form(company, agent, client_for):
    """A search or filter sends the tab shown, not the one the page loaded with."""
    page = client_for.get(reverse("conversations:inbox"), {"tab": "mine"})
    assert b'<input type="hidden" name="tab" value="mine" form="list-filters">' in page.content
    listed = client_for.get(
        reverse("conversations:inbox"),
        {"tab": "unassigned"},
        headers={**HTMX, "HX-Target": "conversation-list"},
    )
    tabs = re.search(rb'<nav id="inbox-tabs".*?</nav>', listed.content, re.S).group()
    assert b'hx-swap-oob="true"' in tabs
    assert b'<input type="hidden" name="tab" value="unassigned" form="list-filters">' in tabs


def test_status_and_assignee_commit_by_button_never_on_change(company, agent, client_for):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    page = client_for.get(reverse("conversations:conversation", args=[conversation.pk]))
    header = re.search(rb'<header id="chat-header".*?</header>', page.content, re.S).group()
    assert b'hx-trigger="change"' not in header
    assert header.count(b"data-commit") == 2
    assert b">Set<span" in header and b">Assign</button>" in header


def test_a_handover_offers_an_undo_even_when_it_leaves_the_agents_view(company, agent, client_for):
    company.agents_see_all_conversations = False
    company.save()
    colleague = UserFactory(company=company, role=Role.AGENT, first_name="Chloe")
    conversation = ConversationFactory(company=company, assigned_user=agent)
    state = {"last_seen": "0", "rw": "1"}
    response = client_for.post(
        reverse("conversations:assign", args=[conversation.pk]),
        {"assignee": str(colleague.pk), **state},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert b"has left your view" in response.content
    token = re.search(rb'name="token" value="([^"]+)"', response.content).group(1).decode()
    undo = client_for.post(
        reverse("conversations:undo-handover", args=[conversation.pk]),
        {"token": token, **state, "rw": "0"},
        headers=HTMX,
    )
    assert undo.status_code == 200
    assert b"Undone: it is yours again." in undo.content
    assert b'id="composer-input"' in undo.content  # writable again: the composer comes back
    conversation.refresh_from_db()
    assert conversation.assigned_user == agent
    again = client_for.post(
        reverse("conversations:undo-handover", args=[conversation.pk]),
        {"token": token},
        headers=HTMX,
    )
    assert again.status_code == 400
    assert b"cannot be undone" in again.content


def test_rows_with_messages_since_the_agent_last_looked_are_marked(company, agent, client_for):
    looked, never, quiet = (
        ConversationFactory(company=company, assigned_user=agent) for _ in range(3)
    )
    for conversation in (looked, quiet):
        selectors.see_conversation(agent, company, conversation.pk)
    Conversation.objects.filter(pk=looked.pk).update(
        last_message_at=timezone.now() + timedelta(seconds=1)
    )
    page = client_for.get(reverse("conversations:inbox"), {"tab": "mine"})
    assert page.context["changed"] == {looked.pk}
    row = re.search(rf'<li id="conv-{looked.pk}".*?</li>'.encode(), page.content, re.S).group()
    assert b"data-changed" in row
    assert page.content.count(b"data-changed") == 1


def test_the_tab_title_counts_unread_conversations_of_mine_and_the_queue(
    company, agent, client_for
):
    colleague = UserFactory(company=company, role=Role.AGENT)
    ConversationFactory(company=company, assigned_user=agent, unread_count=2)
    ConversationFactory(company=company, assigned_user=None, unread_count=1)
    ConversationFactory(company=company, assigned_user=None, unread_count=0)
    ConversationFactory(company=company, assigned_user=colleague, unread_count=4)
    ConversationFactory(company=company, assigned_user=None, unread_count=3, status="resolved")
    page = client_for.get(reverse("conversations:inbox"))
    assert b"<title>(2) Inbox" in page.content
    assert b'data-title-count="2"' in page.content
    admin = signed_in(UserFactory(company=company, role=Role.COMPANY_ADMIN))
    assert b"<title>(3) Inbox" in admin.get(reverse("conversations:inbox")).content


def test_renaming_a_customer_reaches_the_header_the_row_and_other_pollers(
    company, agent, client_for
):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    MessageFactory(conversation=conversation, content="The last thing they wrote")
    other = ConversationFactory(company=company, customer=conversation.customer)
    before = {c.pk: c.updated_at for c in (conversation, other)}
    response = client_for.post(
        reverse("conversations:customer", args=[conversation.pk]),
        {"name": "New Name"},
        headers=HTMX,
    )
    assert response.status_code == 200
    header = re.search(
        rb'<header id="chat-header" [^>]*hx-swap-oob="true".*?</header>', response.content, re.S
    )
    assert b"New Name" in header.group()
    updates = re.search(rb'<div id="row-updates".*', response.content, re.S).group()
    assert b"New Name" in updates and b"The last thing they wrote" in updates
    for c in (conversation, other):
        c.refresh_from_db()
        assert c.updated_at > before[c.pk]  # list and chat polls see a change
