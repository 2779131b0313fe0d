"""The list poll at scale (#20 item 12): 204 unless what this agent sees changed, only the changed
rows otherwise, a bounded number of statements."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from conversations import selectors
from conversations.models import Conversation, ConversationViewer
from tests.conftest import signed_in
from tests.conversations.test_views import make_conversations
from tests.factories import CompanyFactory, ConversationFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db
LIST = {"HX-Request": "true", "HX-Target": "conversation-list"}


@pytest.fixture
def company():
    return CompanyFactory()


@pytest.fixture
def agent(company):
    return UserFactory(company=company, role=Role.AGENT, first_name="Ana")


@pytest.fixture
def colleague(company):
    return UserFactory(company=company, role=Role.AGENT, first_name="Ben")


def render_list(client, **params):
    response = client.get(reverse("conversations:inbox"), params, headers=LIST)
    assert response.status_code == 200
    return response


def shown_param(response) -> str:
    """What static/js/app.js sends: the ids of the rows shown, in base 36, joined by dots."""
    ids = re.findall(rb'data-row data-conversation="(\d+)"', response.content)
    return ".".join(_base36(int(pk)) for pk in ids)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


def poll(client, rendered, **params):
    token = rendered.context["list_token"] if hasattr(rendered, "context") else rendered
    shown = params.pop("shown", None)
    if shown is None:
        shown = shown_param(rendered)
    return client.get(
        reverse("conversations:inbox"), {**params, "v": token, "shown": shown}, headers=LIST
    )


def customer_writes(conversation: Conversation, text: str = "Any news?") -> None:
    """What the inbound service does: a message, and the conversation bumped."""
    MessageFactory(conversation=conversation, content=text)
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        last_message_at=now, updated_at=now, unread_count=conversation.unread_count + 1
    )


class Statements(CaptureQueriesContext):
    """The statements a request runs as it would outside a test's transaction: inside one, the
    poll's `SET LOCAL statement_timeout` becomes a savepoint, the same setting, and putting the
    outer timeout back on the way out (hub/database.py)."""

    def __init__(self) -> None:
        super().__init__(connection)

    @property
    def count(self) -> int:
        return sum(
            not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
            and not q["sql"].startswith("SELECT set_config('statement_timeout'")
            for q in self.captured_queries
        )


def row_ids(content: bytes) -> list[int]:
    return [int(pk) for pk in re.findall(rb'<li id="conv-(\d+)"', content)]


def test_an_unchanged_poll_is_204_after_one_statement_of_its_own(company, agent):
    make_conversations(company, 3, assigned_user=None)
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned")
    # session, user, the changes-and-viewers probe (no transaction, no SET: one round trip)
    with Statements() as statements:
        response = poll(client, rendered, tab="unassigned")
    assert statements.count == 3
    assert response.status_code == 204
    assert response.content == b""
    assert selectors.ListToken.parse(response["X-List-Version"]) is not None


def test_a_change_to_a_colleagues_conversation_the_agent_cannot_see_is_204(
    company, agent, colleague
):
    company.agents_see_all_conversations = False
    company.save()
    mine = make_conversations(company, 2, assigned_user=agent)
    theirs = make_conversations(company, 2, assigned_user=colleague)
    client = signed_in(agent)
    rendered = render_list(client, tab="all")
    assert set(row_ids(rendered.content)) == {c.pk for c in mine}
    customer_writes(theirs[0])
    theirs[1].status = Conversation.Status.RESOLVED
    theirs[1].save()
    with Statements() as statements:  # the probe sees the changes, none of them visible
        response = poll(client, rendered, tab="all")
    assert statements.count == 3
    assert response.status_code == 204


def test_a_colleagues_reply_that_changes_nothing_on_screen_is_204(company, agent, colleague):
    """Agents see all conversations here, but Ana's Mine list, her counts and her unread count
    are not touched by a reply in Ben's conversation."""
    make_conversations(company, 2, assigned_user=agent)
    theirs = make_conversations(company, 1, assigned_user=colleague)[0]
    client = signed_in(agent)
    rendered = render_list(client, tab="mine")
    customer_writes(theirs)
    response = poll(client, rendered, tab="mine")
    assert response.status_code == 204
    # the new token has seen the change: the next poll does not look at it again
    with Statements() as statements:
        again = poll(client, response["X-List-Version"], tab="mine", shown=shown_param(rendered))
    assert again.status_code == 204
    assert statements.count == 3


def test_a_changed_visible_row_comes_back_alone(company, agent):
    conversations = make_conversations(company, 5, assigned_user=None)
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned")
    assert len(row_ids(rendered.content)) == 5
    changed = conversations[3]
    customer_writes(changed, "Where is my parcel?")
    # session, user, probe, then under the poll's timeout: counts (the unread count moved), the
    # changed row with its preview, its presence
    with Statements() as statements:
        response = poll(client, rendered, tab="unassigned")
    assert statements.count == 7
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert row_ids(response.content) == [changed.pk]
    assert b"Where is my parcel?" in response.content
    assert b'id="list-updates"' in response.content and b'id="list-version"' in response.content
    assert 'data-title-count="1"' in response.content.decode()  # the tab title's unread count
    # the next poll, with the token that came back, has nothing new
    token = re.search(rb'id="list-version" name="v" value="([^"]*)"', response.content).group(1)
    again = poll(
        client, html.unescape(token.decode()), tab="unassigned", shown=shown_param(rendered)
    )
    assert again.status_code == 204


def test_a_row_that_leaves_the_list_is_removed_and_the_counts_follow(company, agent, colleague):
    conversations = make_conversations(company, 3, assigned_user=None)
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned")
    taken = conversations[1]
    taken.assigned_user = colleague
    taken.save()
    response = poll(client, rendered, tab="unassigned")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-remove="conv-{taken.pk}"' in body
    assert row_ids(response.content) == []
    # the tab counts come along, swapped out of band: Unassigned now holds 2
    assert 'id="inbox-tabs"' in body and 'hx-swap-oob="true"' in body
    assert re.search(r'data-count="unassigned">2<', body)


def test_a_new_conversation_in_the_list_is_sent_to_be_inserted(company, agent):
    make_conversations(company, 2, assigned_user=None)
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned")
    new = ConversationFactory(company=company, assigned_user=None, last_message_at=timezone.now())
    response = poll(client, rendered, tab="unassigned")
    assert response.status_code == 200
    assert row_ids(response.content) == [new.pk]


def test_a_change_below_the_rows_shown_is_not_sent(company, agent):
    """An agent who loaded one page does not get rows from below it (only "Load more" does)."""
    conversations = make_conversations(company, selectors.PAGE_SIZE + 5, assigned_user=None)
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned")
    cursor = rendered.context["page"].next_cursor
    assert cursor is not None
    old = conversations[-1]  # not on the first page
    old.subject = "Edited quietly"
    old.save()  # updated_at moves, last_message_at does not: it stays below
    response = poll(client, rendered, tab="unassigned", through=str(cursor))
    assert response.status_code == 204


def test_a_colleague_opening_a_shown_conversation_updates_that_row_only(company, agent, colleague):
    conversations = make_conversations(company, 3, assigned_user=None)
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned")
    ConversationViewer.objects.create(
        company=company, conversation=conversations[0], user=colleague, seen_at=timezone.now()
    )
    response = poll(client, rendered, tab="unassigned")
    assert response.status_code == 200
    assert row_ids(response.content) == [conversations[0].pk]
    assert b"Ben viewing" in response.content


def test_the_search_filter_applies_to_rows_a_poll_brings(company, agent):
    conversations = make_conversations(company, 3, assigned_user=None)
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned", q="zeppelin")
    assert row_ids(rendered.content) == []
    customer_writes(conversations[0], "A zeppelin poster, please")
    customer_writes(conversations[1], "Nothing to see")
    response = poll(client, rendered, tab="unassigned", q="zeppelin", shown="1")
    assert response.status_code == 200
    assert row_ids(response.content) == [conversations[0].pk]


def test_a_token_that_is_not_ours_renders_the_list_whole(company, agent):
    make_conversations(company, 2, assigned_user=None)
    client = signed_in(agent)
    response = client.get(
        reverse("conversations:inbox"), {"tab": "unassigned", "v": "stale"}, headers=LIST
    )
    assert response.status_code == 200
    assert b'id="conversation-list"' in response.content
    assert len(row_ids(response.content)) == 2


def test_malformed_shown_ids_are_a_400(company, agent):
    client = signed_in(agent)
    rendered = render_list(client, tab="unassigned")
    response = poll(client, rendered, tab="unassigned", shown="12.!!")
    assert response.status_code == 400
