"""Inbox health and delivery log: what arrived and what went out, dead letters to reprocess, the
list's last event and failures, and "verified but nothing arrives" explained."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from companies.access import NotFound
from conversations.models import Message
from inboxes import selectors
from inboxes.inbound import reprocess_delivery
from inboxes.models import WebhookDelivery
from tests.conftest import signed_in
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    InboxFactory,
    MessageFactory,
    UserFactory,
)
from tests.inboxes.whatsapp_helpers import message_payload

pytestmark = pytest.mark.django_db

State = WebhookDelivery.State


@pytest.fixture
def admin():
    return UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN)


@pytest.fixture
def inbox(admin):
    return InboxFactory(company=admin.company, name="Support WhatsApp")


def deliver(inbox, *, state=State.PROCESSED, reason="", ago=timedelta(minutes=5), body=b"{}"):
    return WebhookDelivery.objects.create(
        company_id=inbox.company_id,
        inbox=inbox,
        received_at=timezone.now() - ago,
        content_type="application/json",
        body=body,
        state=state,
        reason=reason,
        events=1 if state == State.PROCESSED else 0,
    )


def reply(inbox, *, status="sent", code="", error="", ago=timedelta(minutes=1)):
    conversation = ConversationFactory(company=inbox.company, inbox=inbox)
    return MessageFactory(
        conversation=conversation,
        inbox=inbox,
        sender_type=Message.SenderType.AGENT,
        delivery_status=status,
        delivery_attempts=3 if status == "failed" else 1,
        last_error_code=code,
        last_error=error,
        timestamp=timezone.now() - ago,
    )


def health_page(admin, inbox, query: str = "") -> str:
    response = signed_in(admin).get(reverse("inboxes:health", args=[inbox.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_an_inbox_that_never_received_anything_says_what_to_check(admin, inbox):
    page = health_page(admin, inbox)
    assert "No delivery has arrived yet." in page
    assert "subscribed to the messages field" in page
    assert f"/webhooks/whatsapp/{inbox.public_key}/" in page
    assert inbox.verify_token in page
    assert "No delivery has arrived." in page  # the log's empty state
    assert "No reply has gone out through this inbox." in page


def test_a_working_inbox_says_so(admin, inbox):
    deliver(inbox)
    reply(inbox)
    health = selectors.inbox_health(inbox)
    assert [f.title for f in health.findings] == ["Working."]
    assert health.received_recently == 1


def test_dead_letters_ignored_deliveries_and_failed_replies_are_findings(admin, inbox):
    deliver(inbox, state=State.DEAD, reason="The body is not JSON.")
    deliver(inbox, state=State.IGNORED, reason="1 event(s) name the account 999.")
    reply(inbox, status="failed", code="190", error="Meta answered 401: Invalid OAuth token")
    page = health_page(admin, inbox)
    assert "1 delivery could not be read." in page
    assert "1 recent delivery named another account." in page
    assert "1 reply failed in the last 7 days." in page
    assert "Invalid OAuth token (code 190)" in page
    assert "The body is not JSON." in page and "Reprocess…" in page


def test_the_delivery_log_filters_dead_letters_and_previews_a_large_body(admin, inbox):
    deliver(inbox, state=State.PROCESSED, body=b'{"fine": true}')
    dead = deliver(inbox, state=State.DEAD, reason="Too deep", body=b"[" * 5000)
    page = health_page(admin, inbox, "?show=dead")
    assert f'data-delivery="{dead.pk}"' in page
    assert "fine" not in page
    assert "and 3,000 more bytes" in page


def test_the_send_log_shows_status_attempts_and_provider_error(admin, inbox):
    failed = reply(inbox, status="failed", code="131047", error="Re-engagement message")
    sent = reply(inbox, status="delivered")
    page = health_page(admin, inbox)
    assert f'data-send="{failed.pk}"' in page and f'data-send="{sent.pk}"' in page
    assert "131047" in page and "Re-engagement message" in page
    page = health_page(admin, inbox, "?sends=failed")
    assert f'data-send="{sent.pk}"' not in page


def test_the_logs_page_by_keyset_both_ways(admin, inbox):
    deliveries = [deliver(inbox, ago=timedelta(minutes=n)) for n in range(30)]  # newest first
    first = selectors.delivery_log(inbox)
    assert [d.pk for d in first.rows] == [d.pk for d in deliveries[:25]]
    assert first.newer == "" and first.older
    second = selectors.delivery_log(inbox, before=first.older)
    assert [d.pk for d in second.rows] == [d.pk for d in deliveries[25:]]
    assert second.older == "" and second.newer
    back = selectors.delivery_log(inbox, after=second.newer)
    assert [d.pk for d in back.rows] == [d.pk for d in deliveries[:25]]
    assert back.newer == ""
    page = health_page(admin, inbox, f"?in_before={first.older}")
    assert "← Newer" in page and "Older →" not in page


def test_rows_at_the_same_moment_are_neither_lost_nor_repeated(admin, inbox):
    moment = timezone.now()
    rows = [deliver(inbox) for _ in range(30)]
    WebhookDelivery.objects.filter(inbox=inbox).update(received_at=moment)
    first = selectors.delivery_log(inbox)
    second = selectors.delivery_log(inbox, before=first.older)
    seen = [d.pk for d in first.rows + second.rows]
    assert sorted(seen) == sorted(d.pk for d in rows)


@pytest.mark.parametrize("cursor", ["x", "1-", "-1", "9" * 40 + "-1", "1-" + "9" * 30])
def test_a_bad_cursor_shows_the_newest_page(admin, inbox, cursor):
    deliver(inbox)
    for name in ("in_before", "in_after", "out_before", "out_after"):
        assert "data-delivery" in health_page(admin, inbox, f"?{name}={cursor}")


def test_the_inbox_list_shows_the_last_event_and_recent_failures(
    admin, inbox, django_assert_num_queries
):
    quiet = InboxFactory(company=admin.company, name="Quiet")
    deliver(inbox, ago=timedelta(minutes=3))
    deliver(inbox, state=State.DEAD, reason="bad")
    reply(inbox, status="failed", error="refused")
    reply(inbox, status="failed", error="old", ago=timedelta(days=8))  # not recent
    [calm, busy] = selectors.inbox_summaries(admin.company)  # by name: Quiet, Support...
    assert (calm.inbox, calm.last_delivery_at, calm.has_trouble) == (quiet, None, False)
    assert (busy.dead_letters, busy.failed_sends) == (1, 1)
    page = signed_in(admin).get(reverse("inboxes:list")).content.decode()
    assert "1 dead letter · 1 failed reply in 7 days" in page
    assert "no delivery yet" in page and "3\xa0minutes ago</time>" in page
    for n in range(5):
        InboxFactory(company=admin.company, name=f"More {n}")
    with django_assert_num_queries(1):
        assert len(selectors.inbox_summaries(admin.company)) == 7


def test_reprocess_processes_a_dead_letter_again(
    admin, inbox, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    body = json.dumps(message_payload("wamid.AGAIN", text="Is my order late?")).encode()
    dead = deliver(inbox, state=State.DEAD, reason="A bug, fixed since.", body=body)
    url = reverse("inboxes:delivery-reprocess", args=[inbox.pk, dead.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(admin).post(url, follow=True)
    assert response.redirect_chain[-1][0].endswith(
        reverse("inboxes:health", args=[inbox.pk]) + "#deliveries"
    )
    assert "queued to be processed again" in response.content.decode()
    dead.refresh_from_db()
    assert (dead.state, dead.reason) == (State.PROCESSED, "")
    assert Message.objects.get(provider_message_id="wamid.AGAIN").content == "Is my order late?"


def test_only_dead_or_ignored_deliveries_are_reprocessed(admin, inbox):
    done = deliver(inbox, state=State.PROCESSED)
    with pytest.raises(ValidationError, match="Only a dead letter"):
        reprocess_delivery(admin, delivery_id=done.pk)
    response = signed_in(admin).post(
        reverse("inboxes:delivery-reprocess", args=[inbox.pk, done.pk]), follow=True
    )
    assert "Only a dead letter" in response.content.decode()
    assert WebhookDelivery.objects.get(pk=done.pk).state == State.PROCESSED


def test_reprocess_is_for_the_inbox_company_admins_only(admin, inbox):
    dead = deliver(inbox, state=State.DEAD)
    with pytest.raises(PermissionDenied):
        reprocess_delivery(UserFactory(company=admin.company, role=Role.AGENT), delivery_id=dead.pk)
    with pytest.raises(NotFound):
        reprocess_delivery(
            UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN), delivery_id=dead.pk
        )
    # the URL's inbox must hold the delivery: another inbox of the company's is a 404
    other_inbox = InboxFactory(company=admin.company)
    response = signed_in(admin).post(
        reverse("inboxes:delivery-reprocess", args=[other_inbox.pk, dead.pk])
    )
    assert response.status_code == 404
    assert WebhookDelivery.objects.get(pk=dead.pk).state == State.DEAD
