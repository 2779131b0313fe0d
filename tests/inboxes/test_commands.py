"""`send_test_webhook` signs and posts a payload as Meta would; `run_hub` subscribes the demo's
WhatsApp inboxes to the local Graph server."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Message
from hub.management.commands.run_hub import Command as RunHub
from inboxes.local_providers.graph import LocalGraphServer
from inboxes.models import WebhookDelivery
from tests.inboxes.whatsapp_helpers import whatsapp_inbox

EXAMPLES = Path(__file__).resolve().parents[2] / "inboxes" / "local_providers" / "examples"


@pytest.mark.django_db(transaction=True)
def test_send_test_webhook_delivers_the_example_to_the_hub(live_server, company, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    inbox = whatsapp_inbox(company)
    out = StringIO()
    call_command(
        "send_test_webhook",
        str(inbox.pk),
        str(EXAMPLES / "whatsapp_text.json"),
        url=live_server.url,
        stdout=out,
    )
    assert "200" in out.getvalue()
    assert WebhookDelivery.objects.get().state == "processed"
    message = Message.objects.get()
    assert message.content.startswith("Hi! My parcel says delivered")
    assert message.provider_message_id.startswith("wamid.TEST")


@pytest.mark.django_db(transaction=True)
def test_send_test_webhook_says_when_the_hub_refuses(live_server, company):
    inbox = whatsapp_inbox(company, app_secret="")
    with pytest.raises(CommandError, match="no app secret"):
        call_command(
            "send_test_webhook",
            str(inbox.pk),
            str(EXAMPLES / "whatsapp_text.json"),
            url=live_server.url,
        )
    inbox.credentials["app_secret"] = "s3cret"
    inbox.save()
    inbox.is_active = False
    inbox.save()
    with pytest.raises(CommandError, match="410"):
        call_command(
            "send_test_webhook",
            str(inbox.pk),
            str(EXAMPLES / "whatsapp_text.json"),
            url=live_server.url,
        )


def test_send_test_webhook_names_a_missing_inbox(db):
    with pytest.raises(CommandError, match="No inbox has id 999999"):
        call_command("send_test_webhook", "999999", str(EXAMPLES / "whatsapp_text.json"))


def test_run_hub_subscribes_whatsapp_inboxes_to_the_local_graph_server(company):
    inbox = whatsapp_inbox(company)
    command = RunHub(stdout=StringIO())
    with LocalGraphServer() as graph:
        command._connect_local_graph(graph, "http://127.0.0.1:8000")
        subscription = graph._server.state.subscriptions["109876543210001"]
        assert subscription.webhook_url == (
            f"http://127.0.0.1:8000/webhooks/whatsapp/{inbox.public_key}/"
        )
        assert subscription.app_secret == "app-secret-123"
        assert "demo-image-1" in graph._server.state.media
