"""The WhatsApp adapter's send, against the local Graph API server: the JSON Meta documents,
media uploaded first, and every failure mapped to retry or give up with the provider's code."""

import time

import pytest

from inboxes.channels import OutboundAttachment, OutboundMessage, SendError, adapter_for
from inboxes.local_providers.graph import LocalGraphServer
from inboxes.models import Inbox

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def graph(settings):
    with LocalGraphServer() as server:
        settings.GRAPH_API_BASE_URL = server.url
        settings.PROVIDER_TIMEOUT_SECONDS = 1
        yield server


@pytest.fixture
def inbox() -> Inbox:
    # not saved: the adapter reads only its kind and credentials
    return Inbox(kind="whatsapp", credentials={"phone_number_id": "10987", "access_token": "tok"})


def send(inbox: Inbox, **fields) -> str:
    message = OutboundMessage(recipient="15551234567", **fields)
    return adapter_for(inbox).send(inbox, message).provider_message_id


def test_a_text_reply_is_posted_as_meta_documents_it(graph, inbox):
    wamid = send(inbox, text="Your order shipped.", reply_to_provider_id="wamid.CUSTOMER1")
    [request] = graph.sends()
    assert request.path == "/v21.0/10987/messages"
    assert request.authorization == "Bearer tok"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15551234567",
        "type": "text",
        "text": {"preview_url": False, "body": "Your order shipped."},
        "context": {"message_id": "wamid.CUSTOMER1"},
    }
    assert wamid.startswith("wamid.") and request.status == 200


def test_an_image_is_uploaded_then_sent_by_media_id_with_the_text_as_caption(graph, inbox):
    image = OutboundAttachment(kind="image", filename="box.png", mime_type="image/png", content=PNG)
    send(inbox, text="The damaged box", attachments=(image,))
    uploads = [r for r in graph.requests if r.path.endswith("/media")]
    assert len(uploads) == 1 and uploads[0].content_type.startswith("multipart/form-data")
    assert graph.uploads() == [(PNG, "image/png")]
    [request] = graph.sends()
    media_id = request.json["image"]["id"]
    assert request.json["type"] == "image"
    assert request.json["image"] == {"id": media_id, "caption": "The damaged box"}


def test_a_document_keeps_its_filename_and_a_long_text_follows_it(graph, inbox):
    pdf = OutboundAttachment(
        kind="document", filename="invoice.pdf", mime_type="application/pdf", content=b"%PDF-1.4"
    )
    send(inbox, text="x" * 1500, attachments=(pdf,))
    first, second = graph.sends()
    assert first.json["type"] == "document"
    assert first.json["document"]["filename"] == "invoice.pdf"
    assert "caption" not in first.json["document"]
    assert second.json["text"]["body"] == "x" * 1500


def failure(graph, inbox, status: int, **fail) -> SendError:
    graph.fail_next(status, **fail)
    with pytest.raises(SendError) as raised:
        send(inbox, text="Hello")
    return raised.value


def test_a_server_error_is_retried(graph, inbox):
    error = failure(graph, inbox, 500, code=1, message="An unknown error occurred")
    assert error.retryable and error.code == "1"
    assert "unknown error" in str(error)


def test_a_rate_limit_is_retried_after_what_the_provider_asks(graph, inbox):
    error = failure(graph, inbox, 429, code=130429, message="Rate limit hit", retry_after="7")
    assert error.retryable and error.code == "130429" and error.retry_after == 7


@pytest.mark.parametrize("code", [4, 80007, 131048, 131056])
def test_graph_throttling_codes_are_retried_even_as_400(graph, inbox, code):
    assert failure(graph, inbox, 400, code=code, message="Too many").retryable


def test_outside_the_24_hour_window_is_permanent_with_metas_code_and_text(graph, inbox):
    error = failure(
        graph,
        inbox,
        400,
        code=131047,
        message="Re-engagement message: more than 24 hours have passed since the customer last replied.",
    )
    assert not error.retryable and error.code == "131047"
    assert "24 hours" in str(error)


@pytest.mark.parametrize("status, code", [(401, 190), (400, 131026), (400, 100), (403, 10)])
def test_a_bad_token_an_unknown_number_or_a_bad_request_is_permanent(graph, inbox, status, code):
    error = failure(graph, inbox, status, code=code, message="Refused")
    assert not error.retryable and error.code == str(code)


def test_a_provider_that_hangs_times_out_and_is_retried(graph, inbox):
    started = time.monotonic()
    error = failure(graph, inbox, 0, delay=5)
    assert time.monotonic() - started < 4  # PROVIDER_TIMEOUT_SECONDS = 1
    assert error.retryable and error.code == "timeout"


def test_a_provider_that_is_down_is_retried(settings, inbox):
    with LocalGraphServer() as server:
        settings.GRAPH_API_BASE_URL = server.url
    with pytest.raises(SendError) as raised:  # the server is stopped: connection refused
        send(inbox, text="Hello")
    assert raised.value.retryable and raised.value.code == "connection"


def test_missing_credentials_or_recipient_fail_at_once_without_a_request(graph):
    bare = Inbox(kind="whatsapp", credentials={})
    with pytest.raises(SendError) as raised:
        send(bare, text="Hello")
    assert not raised.value.retryable and raised.value.code == "credentials"
    inbox = Inbox(kind="whatsapp", credentials={"phone_number_id": "1", "access_token": "t"})
    with pytest.raises(SendError) as raised:
        adapter_for(inbox).send(inbox, OutboundMessage(recipient="", text="Hello"))
    assert raised.value.code == "recipient"
    assert graph.requests == []
