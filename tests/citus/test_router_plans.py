"""On the Citus cluster (`make test-citus`): every statement of the hub's hot paths is a router
plan, run on the one shard of its company. Each request below is made with the test client, its
statements are captured, and each is EXPLAINed on the coordinator: a Citus scan with more than
one task is a fan-out to every shard and fails the test, and so does a statement that Citus runs
in steps through the coordinator (subplans, INSERT ... SELECT pulled to the coordinator), even
when each step reads one shard.

The accepted fan-outs are named in ACCEPTED_FANOUTS: cross-company reads of the super admin; the
accepted statements in steps in ACCEPTED_IN_STEPS.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from conversations.models import Conversation, Message
from customers.models import Customer
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
PLANNED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
# Pages that read across every company on purpose, with why.
ACCEPTED_FANOUTS = {
    "analytics:system-overview": "the super admin's overview counts conversations of every company",
}
# Statements (found by a part of their SQL) that Citus runs in steps, with why they are accepted.
ACCEPTED_IN_STEPS: dict[str, str] = {}


def task_counts(plan: object) -> Iterator[int]:
    """Every "Task Count" in a Citus EXPLAIN (FORMAT JSON), subplans included."""
    if isinstance(plan, dict):
        for key, value in plan.items():
            if key == "Task Count":
                yield int(value)
            else:
                yield from task_counts(value)
    elif isinstance(plan, list):
        for item in plan:
            yield from task_counts(item)


def fanouts(statements: list[str]) -> list[tuple[int, str]]:
    """The statements among `statements` whose plan sends tasks to more than one shard."""
    found = []
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip().upper().startswith(PLANNED):
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            widest = max(task_counts(plan), default=0)
            if widest > 1:
                found.append((widest, sql))
    return found


def runs_in_steps(plan: object) -> bool:
    """Does a Citus EXPLAIN (FORMAT JSON) show subplans or an INSERT ... SELECT through the
    coordinator, anywhere in it?"""
    if isinstance(plan, dict):
        if plan.get("Subplans") or plan.get("INSERT/SELECT method", "pushdown") != "pushdown":
            return True
        return any(runs_in_steps(value) for value in plan.values())
    if isinstance(plan, list):
        return any(runs_in_steps(item) for item in plan)
    return False


def in_steps(statements: list[str]) -> list[str]:
    """The statements among `statements` that Citus runs in steps, except the accepted ones."""
    found = []
    with connection.cursor() as cursor:
        for sql in statements:
            if not sql.lstrip().upper().startswith(PLANNED):
                continue
            if any(part in sql for part in ACCEPTED_IN_STEPS):
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            if runs_in_steps(json.loads(plan) if isinstance(plan, str) else plan):
                found.append(sql)
    return found


@contextmanager
def single_shard() -> Iterator[CaptureQueriesContext]:
    with CaptureQueriesContext(connection) as captured:
        yield captured
    statements = [query["sql"] for query in captured.captured_queries]
    assert statements, "nothing was captured"
    assert fanouts(statements) == []
    assert in_steps(statements) == []


@pytest.fixture
def tenant():
    """A company with conversations, next to another company (so shards hold other rows)."""
    for _ in range(3):
        other = CompanyFactory()
        ConversationFactory.create_batch(2, company=other)
    company = CompanyFactory()
    admin = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    agent = UserFactory(company=company, role=Role.AGENT)
    inbox = InboxFactory(company=company)
    customers = [
        CustomerFactory(company=company, name=f"Maria {i}", email=f"maria{i}@example.com")
        for i in range(30)
    ]
    conversations = [
        ConversationFactory(company=company, customer=customer, inbox=inbox)
        for customer in customers
    ]
    for conversation in conversations:
        MessageFactory(conversation=conversation, content="Where is my order?")
    return {
        "company": company,
        "admin": admin,
        "agent": agent,
        "conversation": conversations[0],
        "customer": customers[0],
    }


def _run(action: Callable[[], object]) -> None:
    with single_shard():
        action()


def test_a_statement_in_steps_is_detected(tenant):
    """The check itself: an INSERT in a CTE (the chat poll's old form) is run in steps through
    the coordinator, even with a constant company."""
    conversation = tenant["conversation"]
    statement = f"""
        WITH target AS (
            SELECT id, company_id FROM conversations_conversation
            WHERE company_id = {conversation.company_id} AND id = {conversation.pk}
        ), seen AS (
            INSERT INTO conversations_conversationviewer (company_id, conversation_id, user_id, seen_at)
            SELECT company_id, id, {tenant["agent"].pk}, '2026-01-01' FROM target
            ON CONFLICT (company_id, conversation_id, user_id)
            DO UPDATE SET seen_at = EXCLUDED.seen_at
        )
        SELECT id FROM target"""
    assert in_steps([statement])
    assert not runs_in_steps([{"Distributed Query": {"Job": {"Task Count": 1}}}])


def test_the_chat_poll_is_one_statement_once_the_viewer_row_exists(tenant):
    client = signed_in(tenant["agent"])
    pk = tenant["conversation"].pk
    client.get(reverse("conversations:conversation", args=[pk]))
    with single_shard() as captured:
        response = client.get(reverse("conversations:poll", args=[pk]), {"v": "stale"})
    assert response.status_code == 200
    polls = [q["sql"] for q in captured.captured_queries if "conversationviewer" in q["sql"]]
    assert len(polls) == 1 and polls[0].lstrip().startswith("UPDATE")


def test_a_fanout_is_detected():
    """The check itself: a lookup by id alone goes to every shard."""
    company = CompanyFactory()
    conversation = ConversationFactory(company=company)
    statement = f"SELECT * FROM conversations_conversation WHERE id = {conversation.pk}"
    assert fanouts([statement])
    assert not fanouts([f"{statement} AND company_id = {company.pk}"])


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_the_inbox_list_tab_counts_and_polls_are_single_shard(tenant, role):
    client = signed_in(tenant[role])
    inbox = reverse("conversations:inbox")
    _run(lambda: client.get(inbox))
    _run(
        lambda: client.get(
            inbox, {"tab": "all"}, headers={**HTMX, "HX-Target": "conversation-list"}
        )
    )
    _run(
        lambda: client.get(
            inbox, {"v": "stale"}, headers={**HTMX, "HX-Target": "conversation-list"}
        )
    )


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_a_list_poll_with_its_token_is_single_shard(tenant, role):
    """The probe (changes and viewers), then the counts and the changed row."""
    client = signed_in(tenant[role])
    inbox = reverse("conversations:inbox")
    headers = {**HTMX, "HX-Target": "conversation-list"}
    rendered = client.get(inbox, {"tab": "all"}, headers=headers)
    token = rendered.context["list_token"]
    shown = ".".join(format_base36(c.pk) for c in rendered.context["page"].rows)
    _run(lambda: client.get(inbox, {"tab": "all", "v": token, "shown": shown}, headers=headers))
    conversation = tenant["conversation"]
    conversation.subject = "Changed"
    conversation.save()
    _run(lambda: client.get(inbox, {"tab": "all", "v": token, "shown": shown}, headers=headers))


def format_base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


@pytest.mark.parametrize("text", ["maria", "order", "maria3@example.com", "+1 555 0100"])
def test_search_is_single_shard(tenant, text):
    client = signed_in(tenant["admin"])
    _run(
        lambda: client.get(
            reverse("conversations:inbox"),
            {"tab": "all", "q": text},
            headers={**HTMX, "HX-Target": "conversation-list"},
        )
    )


def test_load_more_is_single_shard(tenant):
    client = signed_in(tenant["admin"])
    page = client.get(reverse("conversations:inbox"), {"tab": "all"})
    cursor = page.context["page"].next_cursor
    assert cursor is not None
    _run(lambda: client.get(reverse("conversations:more"), {"tab": "all", "after": str(cursor)}))


def test_the_chat_pane_and_its_poll_are_single_shard(tenant):
    client = signed_in(tenant["admin"])
    pk = tenant["conversation"].pk
    _run(lambda: client.get(reverse("conversations:conversation", args=[pk])))
    _run(
        lambda: client.get(
            reverse("conversations:conversation", args=[pk]),
            headers={**HTMX, "HX-Target": "chat-column"},
        )
    )
    _run(lambda: client.get(reverse("conversations:poll", args=[pk]), {"v": "stale"}))
    _run(lambda: client.get(reverse("conversations:earlier", args=[pk]), {"before": "999999"}))


def test_reply_status_assignment_and_read_marks_are_single_shard(tenant):
    client = signed_in(tenant["agent"])
    conversation = tenant["conversation"]
    pk = conversation.pk
    newest = Message.objects.filter(company=conversation.company, conversation=conversation)
    last_seen = newest.order_by("-id").values_list("id", flat=True).first()
    _run(
        lambda: client.post(
            reverse("conversations:reply", args=[pk]),
            {"content": "On its way", "last_seen": last_seen},
        )
    )
    _run(lambda: client.post(reverse("conversations:status", args=[pk]), {"status": "resolved"}))
    _run(lambda: client.post(reverse("conversations:assign", args=[pk]), {"assignee": "me"}))
    _run(lambda: client.post(reverse("conversations:read", args=[pk])))
    _run(
        lambda: client.post(
            reverse("conversations:customer", args=[pk]), {"name": "Maria Zero", "is_vip": "on"}
        )
    )
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.RESOLVED


def test_the_delivery_task_is_single_shard(tenant):
    from conversations.tasks import deliver_message

    conversation = tenant["conversation"]
    message = MessageFactory(
        conversation=conversation,
        sender_type=Message.SenderType.AGENT,
        sender_user=tenant["agent"],
        delivery_status=Message.DeliveryStatus.PENDING,
    )
    _run(lambda: deliver_message.call(company_id=message.company_id, message_id=message.pk))


def test_customers_staff_and_csv_are_single_shard(tenant):
    client = signed_in(tenant["admin"])
    _run(lambda: client.get(reverse("customers:list")))
    _run(lambda: client.get(reverse("customers:list"), {"q": "maria"}))
    _run(lambda: client.get(reverse("customers:export")).getvalue())
    _run(lambda: client.get(reverse("customers:edit", args=[tenant["customer"].pk])))
    _run(lambda: client.get(reverse("companies:staff")))
    csv = b"name,email\nNew Person,new.person@example.com\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    _run(
        lambda: client.post(
            reverse("customers:import"),
            {"file": SimpleUploadedFile("c.csv", csv, content_type="text/csv")},
        )
    )
    _run(lambda: client.post(reverse("customers:import"), {"confirm": "1"}))
    assert tenant["company"].pk in set(
        Customer.objects.filter(email="new.person@example.com").values_list("company_id", flat=True)
    )


def test_the_accepted_fanouts_are_the_super_admins_overview(super_admin, tenant):
    """The one page named in ACCEPTED_FANOUTS does read every shard (and is allowed to)."""
    client = signed_in(super_admin)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("analytics:system-overview"))
    assert response.status_code == 200
    assert fanouts([q["sql"] for q in captured.captured_queries])
    assert set(ACCEPTED_FANOUTS) == {"analytics:system-overview"}


def test_the_webhook_its_processing_and_media_download_are_single_shard(tenant, settings):
    """A WhatsApp delivery: stored by the view, processed (customer by identity, conversation,
    message, attachment, a status), its file fetched: every statement on the company's shard."""
    from django.test import Client

    from conversations.models import MessageAttachment
    from conversations.services.attachments import download_inbound_attachment
    from inboxes.inbound import process_webhook_delivery
    from inboxes.local_providers.graph import LocalGraphServer
    from inboxes.models import WebhookDelivery
    from tests.inboxes.whatsapp_helpers import fixture, post_signed, whatsapp_inbox

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    inbox = whatsapp_inbox(tenant["company"])
    client = Client()
    for name in ("image", "text_reply", "status_read"):
        _run(lambda name=name: post_signed(client, inbox, fixture(name)))
    for delivery in WebhookDelivery.objects.filter(company=tenant["company"]).order_by("id"):
        _run(
            lambda delivery=delivery: process_webhook_delivery(
                company_id=delivery.company_id, delivery_id=delivery.pk
            )
        )
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"processed"}
    attachment = MessageAttachment.objects.get(company=tenant["company"])
    with LocalGraphServer() as graph:
        settings.GRAPH_API_BASE_URL = graph.url
        graph.add_media(attachment.provider_media_id, b"\x89PNG", "image/png")
        _run(
            lambda: download_inbound_attachment(
                company_id=attachment.company_id, attachment_id=attachment.pk
            )
        )
    attachment.refresh_from_db()
    assert attachment.state == "stored"
