"""A connected WhatsApp inbox and Meta-signed deliveries to its webhook, for the tests."""

import json
from pathlib import Path

from django.test import Client
from django.urls import reverse

from inboxes.channels.meta import signature_of
from inboxes.models import Inbox
from tests.factories import InboxFactory

FIXTURES = Path(__file__).parent / "channels" / "fixtures" / "whatsapp"
PHONE_NUMBER_ID = "109876543210001"
APP_SECRET = "app-secret-123"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def whatsapp_inbox(company, **credentials: str) -> Inbox:
    return InboxFactory(
        company=company,
        kind="whatsapp",
        credentials={
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": "102290129340398",
            "access_token": "token-abc",
            "app_secret": APP_SECRET,
            **credentials,
        },
    )


def webhook_url(inbox: Inbox) -> str:
    return reverse("inboxes:webhook", kwargs={"kind": inbox.kind, "public_key": inbox.public_key})


def body_of(payload: dict | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def post_signed(
    client: Client,
    inbox: Inbox,
    payload: dict | bytes,
    *,
    secret: str = APP_SECRET,
    content_type: str = "application/json",
):
    body = body_of(payload)
    return client.generic(
        "POST",
        webhook_url(inbox),
        body,
        content_type=content_type,
        HTTP_X_HUB_SIGNATURE_256=signature_of(body, secret),
    )


def message_payload(
    message_id: str, *, text: str = "Hello", sender: str = "15551234567", name: str = "Ana"
) -> dict:
    payload = fixture("text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": name}, "wa_id": sender}]
    value["messages"][0].update({"id": message_id, "from": sender, "text": {"body": text}})
    return payload
