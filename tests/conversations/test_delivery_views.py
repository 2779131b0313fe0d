"""What the agent sees of delivery: statuses refreshed by the chat poll without a reload, the
failed reason with the provider's code and Retry, the list's mark, the window refusal and files
in the composer."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from companies.access import system_actor
from conversations import selectors
from conversations.models import Message
from conversations.services import delivery
from inboxes.channels import StatusUpdate
from tests.conftest import signed_in
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def chat(company, agent):
    conversation = ConversationFactory(company=company, assigned_user=agent)
    asked = MessageFactory(conversation=conversation, inbox=conversation.inbox)
    answer = MessageFactory(
        conversation=conversation,
        inbox=conversation.inbox,
        sender_type="agent",
        sender_user=agent,
        content="It ships today.",
        delivery_status="sent",
        provider_message_id="wamid.OUT",
        timestamp=timezone.now(),
    )
    return conversation, asked, answer


def poll(client, conversation, version: str, last_seen: int):
    return client.get(
        reverse("conversations:poll", args=[conversation.pk]),
        {"v": version, "last_seen": last_seen},
        headers=HTMX,
    )


def test_a_status_change_reaches_the_open_chat_on_its_next_poll(agent, company, chat):
    conversation, asked, answer = chat
    client = signed_in(agent)
    before = selectors.see_conversation(agent, company, conversation.pk)
    assert poll(client, conversation, before.version, answer.pk).status_code == 204
    update = StatusUpdate(
        provider_message_id="wamid.OUT", status="delivered", timestamp=timezone.now()
    )
    assert delivery.apply_status_update(
        system_actor(conversation.company_id), conversation.inbox, update
    )
    response = poll(client, conversation, before.version, answer.pk)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="message-meta-{answer.pk}" hx-swap-oob="true"' in body
    assert 'data-delivery="delivered"' in body
    assert f'id="message-meta-{asked.pk}"' not in body  # only what changed
    assert "It ships today." not in body  # the status alone, not the message again


def test_a_failed_message_shows_the_reason_the_code_and_retry(agent, company, chat):
    conversation, asked, answer = chat
    client = signed_in(agent)
    before = selectors.see_conversation(agent, company, conversation.pk)
    update = StatusUpdate(
        provider_message_id="wamid.OUT",
        status="failed",
        timestamp=timezone.now(),
        error_code="131026",
        error_text="Message undeliverable.",
    )
    delivery.apply_status_update(system_actor(conversation.company_id), conversation.inbox, update)
    body = poll(client, conversation, before.version, answer.pk).content.decode()
    assert "Message undeliverable." in body and "(code 131026)" in body
    assert reverse("conversations:retry", args=[conversation.pk, answer.pk]) in body
    page = client.get(reverse("conversations:conversation", args=[conversation.pk]))
    assert b"Reply failed" in page.content  # the list row is marked too


def test_a_reply_outside_the_window_is_refused_in_the_composer_with_the_draft(agent, chat):
    conversation, asked, answer = chat
    Message.objects.filter(pk=asked.pk).update(timestamp=timezone.now() - timedelta(hours=30))
    response = signed_in(agent).post(
        reverse("conversations:reply", args=[conversation.pk]),
        {"content": "Are you still there?", "last_seen": answer.pk},
        headers=HTMX,
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "within 24 hours" in body and "Are you still there?</textarea>" in body
    assert not Message.objects.filter(content="Are you still there?").exists()


def test_a_file_from_the_composer_is_stored_on_the_reply(agent, chat, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    conversation, asked, answer = chat
    response = signed_in(agent).post(
        reverse("conversations:reply", args=[conversation.pk]),
        {
            "content": "",
            "last_seen": answer.pk,
            "attachment": SimpleUploadedFile("box.png", PNG, content_type="image/png"),
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    message = Message.objects.get(conversation=conversation, kind="image")
    assert message.attachments.get().filename == "box.png"
    assert b"box.png" in response.content


def test_a_wrong_file_is_refused_with_the_reason_and_the_draft_kept(agent, chat):
    conversation, asked, answer = chat
    response = signed_in(agent).post(
        reverse("conversations:reply", args=[conversation.pk]),
        {
            "content": "Here is the file",
            "last_seen": answer.pk,
            "attachment": SimpleUploadedFile("run.pdf", b"MZ\x90", content_type="application/pdf"),
        },
        headers=HTMX,
    )
    assert response.status_code == 422
    assert b"not the JPEG, PNG, PDF file its name says" in response.content
    assert b"Here is the file</textarea>" in response.content
