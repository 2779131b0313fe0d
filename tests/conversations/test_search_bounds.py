"""No request runs unbounded (#20 item 7): statement timeouts, and a search plan that does not
depend on PostgreSQL's guess of how common a word is."""

import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from conversations import selectors
from conversations.models import Message
from customers.models import Customer
from hub.search import parse_search
from tests.conftest import signed_in
from tests.conversations.test_views import make_conversations
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    CustomerFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
LIST = {"HX-Request": "true", "HX-Target": "conversation-list"}


@pytest.fixture
def company():
    return CompanyFactory()


@pytest.fixture
def admin(company):
    return UserFactory(company=company, role=Role.COMPANY_ADMIN)


def show(setting: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {setting}")
        return cursor.fetchone()[0]


def search(client, text: str, **params):
    return client.get(
        reverse("conversations:inbox"),
        {"tab": "all", "status": "any", "q": text, **params},
        headers=LIST,
    )


def test_every_session_has_the_default_statement_timeout(settings):
    assert settings.DATABASE_STATEMENT_TIMEOUT == 20_000
    assert show("statement_timeout") == "20s"


def test_a_slow_search_is_stopped_with_a_clear_message(company, admin, settings, monkeypatch):
    settings.DATABASE_SEARCH_TIMEOUT = 200
    make_conversations(company, 2)
    real = selectors.bitmap_plans_only

    def slow_lookup(on: bool) -> None:  # a look-up that would run for 5 s
        real(on)
        if on:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(5)")

    monkeypatch.setattr(selectors, "bitmap_plans_only", slow_lookup)
    started = time.monotonic()
    response = search(signed_in(admin), "message")
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    body = response.content.decode()
    assert "data-search-timed-out" in body and "took too long and was stopped" in body
    # the connection is usable and back to its own timeout and plans
    assert show("statement_timeout") == "20s"
    assert show("enable_indexscan") == "on"


def test_a_slow_load_more_of_a_search_is_a_clear_503(company, admin, settings, monkeypatch):
    settings.DATABASE_SEARCH_TIMEOUT = 200
    make_conversations(company, 2)

    def slow_lookup(on: bool) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")

    monkeypatch.setattr(selectors, "bitmap_plans_only", slow_lookup)
    response = signed_in(admin).get(
        reverse("conversations:more"),
        {"tab": "all", "q": "message", "after": "2099-01-01T00:00:00+00:00_1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert b"took too long" in response.content


def test_a_slow_list_poll_is_a_clear_503(company, admin, settings, monkeypatch):
    """What a poll does after its probe (counts, changed rows) runs under the poll's timeout."""
    settings.DATABASE_POLL_TIMEOUT = 200
    conversation = make_conversations(company, 2)[0]
    client = signed_in(admin)
    rendered = client.get(reverse("conversations:inbox"), {"tab": "all"}, headers=LIST)
    conversation.subject = "Changed"
    conversation.save()
    real = selectors.tab_counts

    def slow_counts(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        return real(*args, **kwargs)

    monkeypatch.setattr(selectors, "tab_counts", slow_counts)
    started = time.monotonic()
    response = client.get(
        reverse("conversations:inbox"),
        {"tab": "all", "v": rendered.context["list_token"]},
        headers=LIST,
    )
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert show("statement_timeout") == "20s"


def conversation_statements(queries) -> list[str]:
    """Statements that read the conversation list, apart from the tab counts."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "conversations_conversation"' in q["sql"] and "count(*)" not in q["sql"]
    ]


def test_a_word_nobody_wrote_reads_no_conversation(company, admin):
    make_conversations(company, 30)
    client = signed_in(admin)
    with CaptureQueriesContext(connection) as queries:
        response = search(client, "xylophonist")
    assert response.status_code == 200
    assert response.context["page"].rows == []
    assert b"No conversations match" in response.content
    assert conversation_statements(queries) == []
    lookups = [q["sql"] for q in queries.captured_queries if "@@" in q["sql"]]
    assert len(lookups) == 2  # customers, messages: each with a LIMIT
    assert all(" LIMIT " in sql for sql in lookups)


def many_rows(company) -> None:
    """3,000 customers and 5,000 messages, every one with a common word."""
    conversations = make_conversations(company, 20)
    words = ["parcel", "refund", "courier", "invoice", "jacket", "boots", "order", "delivery"]
    Customer.objects.bulk_create(
        Customer(company=company, name=f"{words[i % 8].title()} Person{i}") for i in range(3000)
    )
    Message.objects.bulk_create(
        Message(
            company=company,
            conversation=conversations[i % 20],
            content=f"My {words[i % 8]} and {words[(i * 3) % 8]} number {i}",
            sender_type="customer",
            timestamp=timezone.now(),
        )
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer, conversations_message")


def test_a_word_the_statistics_show_as_common_skips_the_message_lookup(company, admin, monkeypatch):
    many_rows(company)
    monkeypatch.setattr(selectors, "COMMON_MESSAGES", 300)  # "order": in about 1,250 here
    assert selectors._surely_common(("ord",))
    assert not selectors._surely_common(("xylophonist",))
    assert not selectors._surely_common(("order", "xylophonist"))  # every word must be common
    with CaptureQueriesContext(connection) as queries:
        response = search(signed_in(admin), "order")
    assert response.status_code == 200 and response.context["page"].rows
    assert not [
        q
        for q in queries.captured_queries
        if 'FROM "conversations_message"' in q["sql"]
        and "@@" in q["sql"]
        and "EXISTS" not in q["sql"]
    ]


@pytest.mark.parametrize(
    ("model", "index"),
    [("customers", "customer_search_idx"), ("messages", "msg_content_search_idx")],
)
def test_the_lookups_use_the_full_text_indexes_whatever_the_estimate(company, model, index):
    """Left to itself PostgreSQL reads the table when it guesses a word is common (at 1M rows its
    guess for a word it had no statistics for made it walk every conversation, 58 s). The
    look-ups run with bitmap plans only, so the full-text index answers whatever the guess."""
    many_rows(company)
    # a common word, and few rows asked for: PostgreSQL expects to meet them reading the table
    customers, messages = selectors.search_lookups(company, parse_search("order"))
    queryset = {"customers": customers, "messages": messages}[model][:3]
    sql, params = queryset.query.sql_with_params()

    def plan(bitmap_only: bool) -> str:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer, conversations_message")
            selectors.bitmap_plans_only(bitmap_only)
            cursor.execute(f"EXPLAIN {sql}", params)
            return "\n".join(row[0] for row in cursor.fetchall())

    assert "Seq Scan" in plan(False)  # what PostgreSQL picks on its own
    assert index in plan(True)
    assert "Seq Scan" not in plan(True)


def test_an_email_of_one_customer_fetches_that_customers_conversations_by_id(company, admin):
    make_conversations(company, 30)
    customer = CustomerFactory(company=company, email="jane.roe@mail.example")
    theirs = [ConversationFactory(company=company, customer=customer) for _ in range(2)]
    for conversation in theirs:
        MessageFactory(conversation=conversation)
    with CaptureQueriesContext(connection) as queries:
        response = search(signed_in(admin), "jane.roe@mail.example")
    assert {c.pk for c in response.context["page"].rows} == {c.pk for c in theirs}
    statements = conversation_statements(queries)
    # the matching ids, then their rows: never the list walked newest-first with a LIMIT
    assert statements and not any(" LIMIT " in sql.split("FROM", 1)[0] for sql in statements)
    assert not any(
        'ORDER BY "conversations_conversation"."last_message_at" DESC' in sql and "LIMIT 26" in sql
        for sql in statements
    )


@pytest.mark.parametrize("many_at", [selectors.MATCHING_MESSAGES, 2])
def test_both_search_plans_find_the_same_page(company, admin, monkeypatch, many_at):
    """Few matches are fetched by id; many (a common word) walk the list: same answer."""
    monkeypatch.setattr(selectors, "MATCHING_MESSAGES", many_at)
    monkeypatch.setattr(selectors, "MATCHING_CUSTOMERS", many_at)
    conversations = make_conversations(company, 8)
    for conversation in conversations[1::2]:
        MessageFactory(conversation=conversation, content="The zeppelin poster arrived")
    response = search(signed_in(admin), "zeppelin")
    assert [c.pk for c in response.context["page"].rows] == [c.pk for c in conversations[1::2]]
