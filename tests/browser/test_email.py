"""An agent's email journey in Chromium: a customer's mail arrives in the mailbox, shows in the
inbox with its HTML safe and its remote images held back, and the reply leaves threaded with the
Cc the composer shows."""

from email.message import EmailMessage

import pytest
from playwright.sync_api import Page, expect

from companies.models import Company
from conversations.models import Conversation, Message
from conversations.tasks import deliver_message
from inboxes.inbound import process_webhook_delivery
from inboxes.models import WebhookDelivery
from inboxes.polling import poll_mailbox
from tests.browser.test_inbox_work import open_conversation, sign_in
from tests.factories import InboxFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ADDRESS = "support@acme.example"


def test_mail_in_reply_out_in_the_browser(
    page: Page, live_server, demo, dovecot, smtp_server, settings
):
    dovecot.add_user(ADDRESS, "imap-secret")
    smtp_server.username = ADDRESS
    settings.EMAIL_TLS_CA_FILE = str(dovecot.root / "cert.pem")
    inbox = InboxFactory(
        company=Company.objects.get(slug="acme"),
        kind="email",
        name="Acme Support mail",
        credentials={
            "email_address": ADDRESS,
            "imap_host": "127.0.0.1",
            "imap_port": str(dovecot.port),
            "imap_username": ADDRESS,
            "imap_password": "imap-secret",
            "smtp_host": "127.0.0.1",
            "smtp_port": str(smtp_server.port),
            "smtp_username": ADDRESS,
            "smtp_password": smtp_server.password,
        },
    )
    mail = EmailMessage()
    mail["From"] = "Robin Reader <robin@reader.example>"
    mail["To"] = ADDRESS
    mail["Cc"] = "partner@reader.example"
    mail["Subject"] = "Damaged parcel"
    mail["Message-ID"] = "<parcel-1@reader.example>"
    mail.set_content("The parcel arrived damaged.")
    mail.add_alternative(
        '<p>The parcel arrived <b>damaged</b>.</p><img src="https://tracker.example/p.gif">'
        "<script>document.title='owned'</script>",
        subtype="html",
    )
    dovecot.deliver(ADDRESS, mail)
    assert poll_mailbox(inbox) == 1
    delivery = WebhookDelivery.objects.get(inbox=inbox)
    assert (
        process_webhook_delivery(company_id=inbox.company_id, delivery_id=delivery.pk)
        == "processed"
    )
    conversation = Conversation.objects.select_related("customer").get(inbox=inbox)

    requested = []
    page.on("request", lambda request: requested.append(request.url))
    sign_in(page, live_server.url)
    open_conversation(page, live_server.url, conversation)
    body = page.locator("[data-mail-html]")
    expect(body).to_contain_text("The parcel arrived damaged.")
    expect(body.locator("b")).to_have_text("damaged")
    assert "owned" not in page.title()
    assert not any("tracker.example" in url for url in requested)
    page.get_by_role("button", name="Show remote images").click()
    expect(body.locator("img")).to_have_attribute("src", "https://tracker.example/p.gif")

    cc = page.get_by_label("Cc")
    expect(cc).to_have_value("partner@reader.example")
    composer = page.get_by_role("textbox", name=f"Reply to {conversation.customer.name}")
    composer.fill("Sorry about that, a new one is on its way.")
    composer.press("Enter")
    reply = Message.objects.filter(conversation=conversation, sender_type="agent")
    expect(page.locator("#chat-messages")).to_contain_text("a new one is on its way")
    sent = reply.get()
    assert sent.payload["cc"] == ["partner@reader.example"]
    deliver_message.call(company_id=sent.company_id, message_id=sent.pk)
    [(_, recipients, out)] = smtp_server.messages
    assert sorted(recipients) == ["partner@reader.example", "robin@reader.example"]
    assert out["In-Reply-To"] == "<parcel-1@reader.example>"
    assert out["Subject"] == "Re: Damaged parcel"
    expect(page.locator(f"#message-{sent.pk} [data-delivery]")).to_have_attribute(
        "data-delivery", "sent", timeout=15_000
    )
    page.screenshot(path="test-artifacts/email-chat.png", full_page=True)
