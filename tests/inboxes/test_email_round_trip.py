"""Email end to end against real servers: a customer's mail arrives (Dovecot), becomes a
conversation, the agent's reply leaves threaded (aiosmtpd), and the customer's answer joins the
same conversation; a bounce fails the reply; an auto-reply opens nothing."""

from email.message import EmailMessage
from pathlib import Path

import pytest

from conversations import services
from conversations.models import Conversation, Message
from conversations.tasks import deliver_message
from inboxes.inbound import process_webhook_delivery
from inboxes.models import WebhookDelivery
from inboxes.polling import poll_mailbox
from tests.factories import InboxFactory, UserFactory

pytestmark = pytest.mark.django_db
ADDRESS = "support@acme.example"
FIXTURES = Path(__file__).parent / "channels" / "fixtures" / "email"


@pytest.fixture
def email_inbox(dovecot, smtp_server, settings):
    dovecot.add_user(ADDRESS, "imap-secret")
    smtp_server.username = ADDRESS
    settings.EMAIL_TLS_CA_FILE = str(dovecot.root / "cert.pem")
    return InboxFactory(
        kind="email",
        name="Acme Support",
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


def arrive(dovecot, inbox, mail: EmailMessage | bytes) -> None:
    """The mail reaches the mailbox; the poller stores it; its task processes it."""
    dovecot.deliver(ADDRESS, mail)
    before = set(WebhookDelivery.objects.values_list("pk", flat=True))
    poll_mailbox(inbox)
    for delivery in WebhookDelivery.objects.exclude(pk__in=before).order_by("pk"):
        process_webhook_delivery(company_id=inbox.company_id, delivery_id=delivery.pk)


def customer_mail(subject: str, message_id: str, body: str, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Dana Customer <dana@customer.example>"
    mail["To"] = ADDRESS
    mail["Cc"] = "boss@customer.example"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def test_mail_in_reply_out_and_the_answer_joins_the_same_conversation(
    dovecot, smtp_server, email_inbox
):
    arrive(dovecot, email_inbox, customer_mail("Where is my order?", "q1@customer.example", "Hi!"))
    conversation = Conversation.objects.get(inbox=email_inbox)
    assert conversation.subject == "Where is my order?"
    assert conversation.customer.email == "dana@customer.example"
    assert conversation.customer.name == "Dana Customer"
    [question] = conversation.messages.all()
    assert question.content == "Hi!" and question.payload["cc"] == ["boss@customer.example"]

    agent = UserFactory(company=email_inbox.company, role="agent")
    reply = services.send_agent_reply(
        agent,
        company_id=email_inbox.company_id,
        conversation_id=conversation.pk,
        content="It ships today.",
        last_seen_message_id=question.pk,
        cc=["boss@customer.example"],
    )
    deliver_message.call(company_id=reply.company_id, message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.delivery_status == "sent", reply.last_error
    [(sender, recipients, sent)] = smtp_server.messages
    assert sender == ADDRESS
    assert sorted(recipients) == ["boss@customer.example", "dana@customer.example"]
    assert sent["Subject"] == "Re: Where is my order?"
    assert sent["In-Reply-To"] == "<q1@customer.example>"
    assert sent["References"] == "<q1@customer.example>"
    assert sent["Message-ID"] == f"<{reply.provider_message_id}>"

    # the customer's mail client answers the reply: same conversation, not a new one
    arrive(
        dovecot,
        email_inbox,
        customer_mail(
            "Re: Where is my order?",
            "q2@customer.example",
            "Great, thanks!\n\nOn Mon, Acme Support wrote:\n> It ships today.",
            In_Reply_To=f"<{reply.provider_message_id}>",
            References=f"<q1@customer.example> <{reply.provider_message_id}>",
        ),
    )
    assert Conversation.objects.filter(inbox=email_inbox).count() == 1
    assert conversation.messages.count() == 3
    conversation.refresh_from_db()
    assert conversation.unread_count == 1

    # a new subject from the same customer is a new conversation
    arrive(dovecot, email_inbox, customer_mail("Invoice request", "q3@customer.example", "Hi"))
    assert Conversation.objects.filter(inbox=email_inbox).count() == 2

    # the same mail fetched again (a dropped connection before its place was saved) is one message
    email_inbox.refresh_from_db()
    email_inbox.sync_state = {}
    email_inbox.save(update_fields=["sync_state"])
    arrive(dovecot, email_inbox, customer_mail("Invoice request", "q3@customer.example", "Hi"))
    assert Message.objects.filter(inbox=email_inbox, sender_type="customer").count() == 3


def test_a_bounce_fails_the_reply_and_an_auto_reply_opens_nothing(dovecot, email_inbox):
    arrive(dovecot, email_inbox, customer_mail("Order", "o1@customer.example", "Hello"))
    conversation = Conversation.objects.get(inbox=email_inbox)
    reply = Message.objects.create(
        company_id=conversation.company_id,
        conversation=conversation,
        inbox=email_inbox,
        content="Answer",
        sender_type="agent",
        timestamp=conversation.last_message_at,
        delivery_status="sent",
        provider_message_id="reply-1@example.test",
    )
    arrive(dovecot, email_inbox, (FIXTURES / "bounce.eml").read_bytes())
    reply.refresh_from_db()
    assert reply.delivery_status == "failed"
    assert "550 5.1.1" in reply.last_error

    arrive(dovecot, email_inbox, (FIXTURES / "auto_reply.eml").read_bytes())
    assert Conversation.objects.filter(inbox=email_inbox).count() == 1
    ignored = WebhookDelivery.objects.filter(inbox=email_inbox, state="ignored").get()
    assert "automatic reply" in ignored.reason


def test_a_new_email_an_agent_starts_has_its_subject_and_no_reply_headers(smtp_server, email_inbox):
    agent = UserFactory(company=email_inbox.company, role="agent")
    conversation = services.start_conversation(
        agent,
        company_id=email_inbox.company_id,
        channel="email",
        new_customer=services.NewCustomer(name="Lee New", email="lee@new.example"),
        inbox_id=email_inbox.pk,
        subject="Your warranty",
        content="Hello Lee, your warranty was extended.",
    )
    first = conversation.messages.get()
    deliver_message.call(company_id=first.company_id, message_id=first.pk)
    [(_, recipients, sent)] = smtp_server.messages
    assert recipients == ["lee@new.example"]
    assert sent["Subject"] == "Your warranty"
    assert sent["In-Reply-To"] is None and sent["References"] is None


def test_a_reply_without_threading_headers_finds_its_conversation_by_our_marker(
    dovecot, smtp_server, email_inbox
):
    arrive(dovecot, email_inbox, customer_mail("Broken zip", "z1@customer.example", "Hi"))
    conversation = Conversation.objects.get(inbox=email_inbox)
    agent = UserFactory(company=email_inbox.company, role="agent")
    reply = services.send_agent_reply(
        agent,
        company_id=email_inbox.company_id,
        conversation_id=conversation.pk,
        content="Which size?",
        last_seen_message_id=conversation.messages.get().pk,
    )
    deliver_message.call(company_id=reply.company_id, message_id=reply.pk)
    [(_, _, sent)] = smtp_server.messages
    body = sent.get_body(("plain",)).get_content()
    marker = body.strip().splitlines()[-1]
    assert marker.startswith("[Ref: HUB-") and body.startswith("Which size?")

    # a mail client that dropped In-Reply-To and References, and changed the subject
    quoted = f"Size 42.\n\n> Which size?\n> {marker}"
    arrive(dovecot, email_inbox, customer_mail("About my order", "z2@customer.example", quoted))
    assert Conversation.objects.filter(inbox=email_inbox).count() == 1
    assert conversation.messages.filter(sender_type="customer").count() == 2

    # a marker nobody signed starts a conversation of its own
    forged = marker[: -len("0123456789]")] + "0123456789]"
    arrive(dovecot, email_inbox, customer_mail("Other", "z3@customer.example", f"x\n> {forged}"))
    assert Conversation.objects.filter(inbox=email_inbox).count() == 2


def test_an_inline_image_is_drawn_inside_the_mail_from_the_hub(dovecot, email_inbox):
    from django.urls import reverse

    from conversations.models import MessageAttachment
    from tests.conftest import signed_in

    arrive(dovecot, email_inbox, (FIXTURES / "apple_attachment.eml").read_bytes())
    conversation = Conversation.objects.get(inbox=email_inbox)
    photo = MessageAttachment.objects.get(content_id="photo@apple.example")
    assert photo.state == "stored"
    admin = UserFactory(company=email_inbox.company, role="company_admin")
    page = signed_in(admin).get(reverse("conversations:conversation", args=[conversation.pk]))
    html = page.content.decode()
    assert f'src="{reverse("conversations:attachment", args=[photo.pk])}"' in html
    assert "cid:" not in html
