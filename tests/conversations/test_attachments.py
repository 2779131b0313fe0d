"""Inbound media: fetched through the Graph media endpoint (the local Graph server) into storage,
retried with backoff when the provider fails, refused over the size limit; served only to the
company's staff, with safe headers."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conversations.models import MessageAttachment
from conversations.services.attachments import (
    MAX_DOWNLOAD_ATTEMPTS,
    download_inbound_attachment,
    retry_delay,
)
from inboxes.inbound import process_webhook_delivery
from inboxes.local_providers.graph import LocalGraphServer
from inboxes.models import WebhookDelivery
from tests.factories import ConversationFactory, UserFactory, stored_attachment
from tests.inboxes.whatsapp_helpers import fixture, post_signed, whatsapp_inbox

IMAGE_ID = "1037543291543636"
PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 100


@pytest.fixture
def graph(settings):
    with LocalGraphServer() as server:
        settings.GRAPH_API_BASE_URL = server.url
        settings.PROVIDER_TIMEOUT_SECONDS = 1
        yield server


@pytest.fixture
def pending_image(company, settings, django_capture_on_commit_callbacks) -> MessageAttachment:
    """A customer's image message as the webhook stores it (the download not run yet)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    inbox = whatsapp_inbox(company)
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(Client(), inbox, fixture("image"))
    process_webhook_delivery(company_id=company.pk, delivery_id=WebhookDelivery.objects.get().pk)
    return MessageAttachment.objects.get()


def download(attachment: MessageAttachment):
    outcome = download_inbound_attachment(
        company_id=attachment.company_id, attachment_id=attachment.pk
    )
    attachment.refresh_from_db()
    return outcome


def test_an_inbound_image_is_pending_until_downloaded(pending_image):
    assert pending_image.state == "pending"
    assert pending_image.provider_media_id == IMAGE_ID
    assert pending_image.caption == "The box arrived like this"


def test_a_download_stores_the_file_through_the_graph_media_endpoint(graph, pending_image):
    graph.add_media(IMAGE_ID, PNG, "image/jpeg")
    outcome = download(pending_image)
    assert outcome.state == "stored"
    assert pending_image.state == "stored"
    assert pending_image.size == len(PNG)
    assert pending_image.mime_type == "image/jpeg"
    assert pending_image.file.read() == PNG
    described, fetched = graph.requests
    assert described.path.endswith(f"/{IMAGE_ID}")
    assert described.authorization == "Bearer token-abc"
    assert fetched.path == f"/media-download/{IMAGE_ID}"
    assert fetched.authorization == "Bearer token-abc"


def test_a_failed_download_keeps_the_message_and_retries_with_backoff(graph, pending_image):
    graph.add_media(IMAGE_ID, PNG, "image/jpeg")
    graph.fail_next(500, code=1, message="Temporary")
    outcome = download(pending_image)
    assert outcome.state == "pending"
    assert timedelta(seconds=7) < outcome.retry_in < timedelta(seconds=13)
    assert pending_image.attempts == 1
    assert "500" in pending_image.error
    assert pending_image.message.content  # the message is there all along
    assert download(pending_image).state == "stored"
    assert pending_image.file.read() == PNG


def test_a_provider_that_does_not_answer_in_time_is_retried(graph, pending_image):
    graph.fail_next(0, delay=3)
    outcome = download(pending_image)
    assert outcome.state == "pending"
    assert "in time" in pending_image.error


def test_downloads_give_up_after_the_last_attempt_with_the_reason(graph, pending_image):
    graph.fail_next(503, times=MAX_DOWNLOAD_ATTEMPTS)
    for _ in range(MAX_DOWNLOAD_ATTEMPTS - 1):
        assert download(pending_image).state == "pending"
    outcome = download(pending_image)
    assert outcome.state == "failed" and outcome.retry_in is None
    assert pending_image.state == "failed"
    assert f"Gave up after {MAX_DOWNLOAD_ATTEMPTS} attempts" in pending_image.error


def test_an_unknown_media_id_fails_at_once(graph, pending_image):
    outcome = download(pending_image)  # the local server knows no such media: Graph's 404
    assert outcome.state == "failed"
    assert pending_image.state == "failed"


def test_a_file_over_the_size_limit_is_not_downloaded(graph, pending_image, settings):
    settings.MEDIA_MAX_BYTES = 100
    graph.add_media(IMAGE_ID, PNG, "image/jpeg")
    assert download(pending_image).state == "failed"
    assert "over the" in pending_image.error and "MEDIA_MAX_BYTES" in pending_image.error
    assert not pending_image.file
    assert len(graph.requests) == 1  # Graph said its size: the file itself was never fetched


def test_the_backoff_grows_and_is_bounded():
    assert retry_delay(1) < retry_delay(3) < retry_delay(5)
    assert retry_delay(50) <= timedelta(minutes=18)


def test_the_download_task_reenqueues_itself_later(graph, pending_image):
    from django.tasks import task_backends

    from inboxes.tasks import download_attachment

    graph.fail_next(500)
    result = download_attachment.call(
        company_id=pending_image.company_id, attachment_id=pending_image.pk
    )
    assert result == "pending"
    [queued] = [
        result
        for result in task_backends["default"].results
        if result.task.name == "download_attachment"
    ]
    assert queued.task.run_after > timezone.now() + timedelta(seconds=5)


# --- serving files


def test_staff_get_the_file_inline_with_safe_headers(company, agent):
    attachment = stored_attachment(ConversationFactory(company=company, assigned_user=None))
    client = Client()
    client.force_login(agent)
    response = client.get(f"/inbox/files/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_document_is_downloaded_not_shown(company, agent):
    attachment = stored_attachment(
        ConversationFactory(company=company, assigned_user=None),
        content=b"<html><script>alert(1)</script>",
        mime_type="text/html",
        filename="page.html",
        kind="document",
    )
    client = Client()
    client.force_login(agent)
    response = client.get(f"/inbox/files/{attachment.pk}/")
    assert response["Content-Disposition"].startswith("attachment")
    assert 'filename="page.html"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_another_companys_staff_get_404(company, other_company):
    attachment = stored_attachment(ConversationFactory(company=company))
    outsider = UserFactory(company=other_company, role="company_admin")
    client = Client()
    client.force_login(outsider)
    assert client.get(f"/inbox/files/{attachment.pk}/").status_code == 404


def test_a_pending_file_is_404(company, agent, pending_image):
    client = Client()
    client.force_login(agent)
    assert client.get(f"/inbox/files/{pending_image.pk}/").status_code == 404
