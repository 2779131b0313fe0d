"""Calls an agent logs on a conversation: an entry in its history, never a message sent."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.models import Role
from companies.access import NotFound
from conversations import services
from conversations.models import Message
from tests.conftest import signed_in
from tests.factories import CompanyFactory, ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture
def agent():
    return UserFactory(company=CompanyFactory(), role=Role.AGENT, first_name="Ana")


@pytest.fixture
def conversation(agent):
    return ConversationFactory(company=agent.company, assigned_user=agent)


def test_a_logged_call_is_a_history_entry_and_nothing_is_sent(agent, conversation):
    entry = services.log_call(
        agent,
        company_id=agent.company_id,
        conversation_id=conversation.pk,
        direction="outbound",
        duration_seconds=312,
        outcome="reached",
        notes="Agreed to replace the item.",
    )
    assert entry.kind == "call" and entry.inbox_id is None
    assert entry.payload["summary"] == "Outgoing call · 5:12 · Talked"
    assert entry.payload["notes"] == "Agreed to replace the item."
    assert not DBTaskResult.objects.exists()  # no delivery task: a call is not sent


def test_bad_values_and_another_company_are_refused(agent, conversation):
    log = {
        "company_id": agent.company_id,
        "conversation_id": conversation.pk,
        "direction": "outbound",
        "duration_seconds": 10,
        "outcome": "reached",
    }
    with pytest.raises(ValidationError, match="how the call went"):
        services.log_call(agent, **{**log, "outcome": "great"})
    with pytest.raises(ValidationError, match="24 hours"):
        services.log_call(agent, **{**log, "duration_seconds": 90_000})
    stranger = UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN)
    with pytest.raises(NotFound):
        services.log_call(stranger, **log)
    assert not Message.objects.filter(kind="call").exists()


def test_the_chat_shows_the_call_without_a_delivery_status(agent, conversation):
    client = signed_in(agent)
    url = reverse("conversations:log-call", args=[conversation.pk])
    response = client.post(
        url,
        {"direction": "inbound", "minutes": "2", "seconds": "5", "outcome": "voicemail"},
        headers=HTMX,
    )
    assert response.status_code == 200
    page = client.get(reverse("conversations:conversation", args=[conversation.pk]))
    html = page.content.decode()
    assert "Incoming call · 2:05 · Left a voicemail" in html
    entry = Message.objects.get(kind="call")
    meta = html[html.index(f'id="message-meta-{entry.pk}"') :][:600]
    assert "data-delivery" not in meta
    bad = client.post(url, {"direction": "sideways", "minutes": "x"}, headers=HTMX)
    assert bad.status_code == 400
