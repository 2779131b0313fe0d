"""A reply's way out, in Chromium with real workers: the agent replies on WhatsApp, a
`manage.py db_worker` process sends it to the local Graph API, and the chat follows its status
without a reload. Failures retry and still deliver once; a provider down for good ends failed
with the reason and Retry; a worker killed mid-send is replaced and the message goes once."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from conversations.models import Message
from customers.models import CustomerIdentity
from hub.demo import DEMO_PASSWORD
from inboxes.local_providers.graph import LocalGraphServer, post_signed, status_payload
from inboxes.models import WebhookDelivery
from tests.browser.conftest import ARTIFACTS, sign_in_with_password
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    InboxFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WA_ID = "15551234567"
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "local-app-secret"


def database_url() -> str:
    """The test database, for worker processes (the embedded server's socket directory is
    the host)."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    host = quote(db["HOST"] or "", safe="")
    return f"postgres://{user}:{password}@{host}:{db['PORT']}/{db['NAME']}"


class Processes:
    """`manage.py` processes on the test database (workers, the sweep), ended when done."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def start(self, *command: str, **env: str) -> subprocess.Popen:
        log = open(self.logs / f"{command[0]}-{len(self.running)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), *command],
            env={**os.environ, **self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.running.append(process)
        return process

    def worker(self, **env: str) -> subprocess.Popen:
        return self.start("db_worker", "--interval", "0.2", "--no-startup-delay", **env)

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def graph() -> Iterator[LocalGraphServer]:
    with LocalGraphServer() as server:
        yield server


@pytest.fixture
def processes(graph, tmp_path) -> Iterator[Processes]:
    env = {
        "DATABASE_URL": database_url(),
        "GRAPH_API_BASE_URL": graph.url,
        "MEDIA_ROOT": str(tmp_path),
        "PROVIDER_TIMEOUT_SECONDS": "2",
        "DELIVERY_RETRY_BASE_SECONDS": "0.3",
        "DELIVERY_RETRY_MAX_SECONDS": "1",
        "DELIVERY_MAX_ATTEMPTS": "4",
        "DELIVERY_LEASE_SECONDS": "6",
        "DELIVERY_SWEEP_AFTER_SECONDS": "2",
    }
    running = Processes(env, tmp_path)
    yield running
    running.stop()


@pytest.fixture
def chat(transactional_db, graph):
    """Ana's WhatsApp conversation with a customer who wrote a minute ago."""
    company = CompanyFactory(name="Acme Outbound")
    agent = UserFactory(
        company=company, role=Role.AGENT, email="ana@outbound.example", password=DEMO_PASSWORD
    )
    inbox = InboxFactory(
        company=company,
        name="Acme WhatsApp",
        credentials={
            "phone_number_id": PHONE_NUMBER_ID,
            "access_token": "EAAG-local",
            "app_secret": APP_SECRET,
        },
    )
    conversation = ConversationFactory(company=company, inbox=inbox, assigned_user=agent)
    CustomerIdentity.objects.create(
        company=company, customer=conversation.customer, kind="wa_id", value=WA_ID
    )
    asked = MessageFactory(
        conversation=conversation,
        inbox=inbox,
        content="Where is my order #1042?",
        provider_message_id="wamid.CUSTOMER1",
        timestamp=timezone.now() - timedelta(minutes=1),
        is_read=True,
    )
    return {"agent": agent, "inbox": inbox, "conversation": conversation, "asked": asked}


def open_chat(page: Page, base_url: str, chat: dict) -> None:
    sign_in_with_password(page, base_url, chat["agent"].email)
    page.goto(f"{base_url}/inbox/c/{chat['conversation'].pk}/")
    expect(page.locator("#chat-header h2")).to_contain_text(chat["conversation"].customer.name)
    page.evaluate("window.notReloaded = true")


def send_reply(page: Page, text: str) -> Message:
    page.get_by_label(f"Reply to {page.locator('#chat-header h2').inner_text().strip()}").fill(text)
    page.keyboard.press("Enter")
    expect(page.locator("#chat-messages").get_by_text(text)).to_be_visible()
    return Message.objects.filter(sender_type="agent", content=text).get()


def delivery_of(page: Page, message: Message):
    return page.locator(f"#message-meta-{message.pk} [data-delivery]")


def wait_for(condition: Callable[[], bool], timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_reply_reaches_whatsapp_and_the_chat_follows_it_to_read(
    page: Page, live_server, chat, graph, processes
):
    # like Meta, the local Graph API follows each accepted message with signed status webhooks
    # to the inbox's address; the worker processes them (inboxes.inbound)
    inbox = chat["inbox"]
    webhook = reverse(
        "inboxes:webhook", kwargs={"kind": "whatsapp", "public_key": inbox.public_key}
    )
    graph.subscribe(
        PHONE_NUMBER_ID,
        webhook_url=live_server.url + webhook,
        app_secret=APP_SECRET,
        statuses=("sent", "delivered"),
    )
    processes.worker()
    open_chat(page, live_server.url, chat)
    page.locator(f"#message-{chat['asked'].pk} [data-reply-to]").click()
    expect(page.locator("[data-reply-quote]")).to_contain_text("Where is my order #1042?")
    message = send_reply(page, "Your parcel left our warehouse today.")
    # sent, then delivered: the statuses may land within one poll, so the chat may skip "Sent"
    expect(delivery_of(page, message)).to_have_attribute(
        "data-delivery", "delivered", timeout=45_000
    )
    [request] = graph.accepted_sends()
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.authorization == "Bearer EAAG-local"
    assert request.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"preview_url": False, "body": "Your parcel left our warehouse today."},
        "context": {"message_id": "wamid.CUSTOMER1"},
    }
    assert WebhookDelivery.objects.filter(inbox=inbox, state="processed").count() == 2
    # the customer opens it: a signed "read" status, as Meta posts it
    message.refresh_from_db()
    payload = status_payload(PHONE_NUMBER_ID, "0", message.provider_message_id, WA_ID, "read")
    assert post_signed(live_server.url + webhook, payload, APP_SECRET) == 200
    expect(delivery_of(page, message)).to_have_attribute("data-delivery", "read", timeout=45_000)
    expect(delivery_of(page, message)).to_have_text("Read")
    # a late "sent" after "read" changes nothing
    late = status_payload(PHONE_NUMBER_ID, "0", message.provider_message_id, WA_ID, "sent")
    assert post_signed(live_server.url + webhook, late, APP_SECRET) == 200
    wait_for(lambda: WebhookDelivery.objects.filter(inbox=inbox, state="processed").count() == 4)
    message.refresh_from_db()
    assert message.delivery_status == "read"
    assert page.evaluate("window.notReloaded") is True
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#chat-column").screenshot(path=ARTIFACTS / "delivery-read.png", caret="initial")


def test_three_server_errors_are_retried_and_the_message_arrives_once(
    page: Page, live_server, chat, graph, processes
):
    graph.fail_next(500, times=3, code=1, message="An unknown error occurred")
    processes.worker()
    open_chat(page, live_server.url, chat)
    message = send_reply(page, "Checking with the courier now.")
    expect(delivery_of(page, message)).to_have_attribute("data-delivery", "sent", timeout=45_000)
    assert len(graph.sends()) == 4
    [accepted] = graph.accepted_sends()
    assert accepted.json["text"]["body"] == "Checking with the courier now."
    message.refresh_from_db()
    assert message.delivery_attempts == 4 and message.last_error == ""


def test_a_provider_down_for_good_ends_failed_with_the_reason_and_retry_sends_it(
    page: Page, live_server, chat, graph, processes
):
    graph.fail_next(503, times=1000, code=2, message="Service temporarily unavailable")
    processes.worker()
    open_chat(page, live_server.url, chat)
    message = send_reply(page, "We will refund the shipping.")
    expect(delivery_of(page, message)).to_have_attribute("data-delivery", "failed", timeout=45_000)
    failure = page.locator(f"#message-meta-{message.pk} [data-delivery-failure]")
    expect(failure).to_contain_text("Gave up after 4 attempts.")
    expect(failure).to_contain_text("Service temporarily unavailable")
    expect(failure).to_contain_text("(code 2)")
    expect(page.locator(f"#conv-{chat['conversation'].pk} [data-reply-failed]")).to_be_visible(
        timeout=15_000
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "delivery-failed.png", caret="initial")
    assert graph.accepted_sends() == []
    graph.reset()  # the provider is back
    failure.get_by_role("button", name="Retry").click()
    expect(delivery_of(page, message)).to_have_attribute("data-delivery", "sent", timeout=45_000)
    assert len(graph.accepted_sends()) == 1
    expect(page.locator(f"#conv-{chat['conversation'].pk} [data-reply-failed]")).to_have_count(
        0, timeout=15_000
    )
    assert page.evaluate("window.notReloaded") is True


def test_a_worker_killed_mid_send_is_replaced_and_the_message_goes_once(
    page: Page, live_server, chat, graph, processes
):
    # the provider hangs on the first send; the worker would wait a minute for it
    graph.fail_next(0, delay=30)
    first = processes.worker(PROVIDER_TIMEOUT_SECONDS="60", DELIVERY_LEASE_SECONDS="4")
    processes.start("sweep_deliveries", "--every", "1", DELIVERY_LEASE_SECONDS="4")
    open_chat(page, live_server.url, chat)
    message = send_reply(page, "A replacement is on its way.")
    wait_for(lambda: len(graph.sends()) == 1)
    time.sleep(0.5)  # mid-send: the request is in and unanswered
    assert graph.sends()[0].status == 0
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    message.refresh_from_db()
    assert message.delivery_status == "pending" and message.claimed_until is not None
    processes.worker(PROVIDER_TIMEOUT_SECONDS="5", DELIVERY_LEASE_SECONDS="4")
    expect(delivery_of(page, message)).to_have_attribute("data-delivery", "sent", timeout=45_000)
    [accepted] = graph.accepted_sends()
    assert accepted.json["text"]["body"] == "A replacement is on its way."
    message.refresh_from_db()
    assert message.delivery_attempts == 2
    assert message.provider_message_id.startswith("wamid.LOCAL")
