"""The email adapter against real servers the tests start (Dovecot for IMAP, aiosmtpd for SMTP),
and its parsing of real-world mail shapes."""

from email.message import EmailMessage
from pathlib import Path

import pytest

from inboxes.channels import (
    CredentialsRejected,
    IgnoredDelivery,
    InboundMessage,
    OutboundAttachment,
    OutboundMessage,
    SendError,
    StatusUpdate,
    UnparseableDelivery,
)
from inboxes.channels.email import EmailAdapter, parse_mail
from inboxes.models import Inbox
from tests.mail_servers import Dovecot, SmtpServer

FIXTURES = Path(__file__).parent / "fixtures" / "email"
ADDRESS = "support@example.test"


def _inbox(dovecot: Dovecot | None = None, smtp: SmtpServer | None = None, **overrides) -> Inbox:
    credentials = {
        "email_address": ADDRESS,
        "imap_host": "127.0.0.1",
        "imap_port": str(dovecot.port if dovecot else 1),
        "imap_username": ADDRESS,
        "imap_password": "imap-secret",
        "smtp_host": "127.0.0.1",
        "smtp_port": str(smtp.port if smtp else 1),
        "smtp_username": ADDRESS,
        "smtp_password": "smtp-secret",
        **overrides,
    }
    return Inbox(kind="email", name="Acme Support", credentials=credentials)


@pytest.fixture
def mailbox(dovecot: Dovecot, settings) -> Dovecot:
    dovecot.add_user(ADDRESS, "imap-secret")
    settings.EMAIL_TLS_CA_FILE = str(dovecot.root / "cert.pem")
    return dovecot


def _mail(subject: str = "Where is my order?", **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = headers.pop("From", "Dana Customer <Dana@Customer.example>")
    mail["To"] = ADDRESS
    mail["Subject"] = subject
    mail["Message-ID"] = headers.pop("Message_ID", "<order-1@customer.example>")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Hello, my order 1234 has not arrived.")
    return mail


def test_new_mail_is_fetched_by_uid_once_and_marked_seen(mailbox):
    adapter = EmailAdapter()
    inbox = _inbox(mailbox)
    mailbox.deliver(ADDRESS, _mail())
    mailbox.deliver(ADDRESS, _mail("Second", Message_ID="<order-2@customer.example>"))

    mails, state = adapter.fetch_new(inbox, state={}, limit=50)
    assert [uid for uid, _ in mails] == [1, 2]
    assert b"order 1234" in mails[0][1]
    adapter.mark_fetched(inbox, [uid for uid, _ in mails])
    assert all(b"\\Seen" in flags for flags in mailbox.flags(ADDRESS))

    state = {**state, "last_uid": 2}
    assert adapter.fetch_new(inbox, state=state, limit=50)[0] == []
    mailbox.deliver(ADDRESS, _mail("Third", Message_ID="<order-3@customer.example>"))
    assert [uid for uid, _ in adapter.fetch_new(inbox, state=state, limit=50)[0]] == [3]


def test_a_changed_uidvalidity_fetches_the_mailbox_again(mailbox):
    adapter = EmailAdapter()
    inbox = _inbox(mailbox)
    mailbox.deliver(ADDRESS, _mail())
    _, state = adapter.fetch_new(inbox, state={}, limit=50)
    stale = {"uidvalidity": state["uidvalidity"] + 1, "last_uid": 99}
    assert [uid for uid, _ in adapter.fetch_new(inbox, state=stale, limit=50)[0]] == [1]


def test_implicit_tls_and_starttls_both_verify_the_server(mailbox, settings):
    adapter = EmailAdapter()
    mailbox.deliver(ADDRESS, _mail())
    tls = _inbox(mailbox, imap_port=str(mailbox.tls_port), imap_security="tls")
    assert len(adapter.fetch_new(tls, state={}, limit=5)[0]) == 1
    assert len(adapter.fetch_new(_inbox(mailbox), state={}, limit=5)[0]) == 1  # STARTTLS
    settings.EMAIL_TLS_CA_FILE = ""  # a self-signed certificate nobody vouched for
    with pytest.raises(SendError, match="Cannot reach the IMAP server"):
        adapter.fetch_new(tls, state={}, limit=5)


def test_credentials_are_checked_with_clear_errors(mailbox, smtp_server):
    adapter = EmailAdapter()
    adapter.check_credentials(_inbox(mailbox, smtp_server))
    with pytest.raises(CredentialsRejected, match="IMAP server refused the sign-in"):
        adapter.check_credentials(_inbox(mailbox, smtp_server, imap_password="wrong"))
    with pytest.raises(CredentialsRejected, match="SMTP server refused the sign-in"):
        adapter.check_credentials(_inbox(mailbox, smtp_server, smtp_password="wrong"))
    with pytest.raises(CredentialsRejected, match="port must be a number"):
        adapter.check_credentials(_inbox(mailbox, smtp_server, imap_port="imap"))
    smtp_server.stop()
    with pytest.raises(SendError, match="Cannot reach the SMTP server"):
        adapter.check_credentials(_inbox(mailbox, smtp_server))


def test_a_reply_leaves_threaded_from_the_inbox_address(smtp_server):
    adapter = EmailAdapter()
    result = adapter.send(
        _inbox(smtp=smtp_server),
        OutboundMessage(
            recipient="dana@customer.example",
            text="It ships today.",
            subject="Where is my order?",
            references=("order-1@customer.example", "order-2@customer.example"),
            cc=("boss@customer.example",),
            attachments=(OutboundAttachment("document", "label.pdf", "application/pdf", b"%PDF"),),
        ),
    )
    [(sender, recipients, mail)] = smtp_server.messages
    assert sender == ADDRESS
    assert sorted(recipients) == ["boss@customer.example", "dana@customer.example"]
    assert mail["Subject"] == "Re: Where is my order?"
    assert mail["In-Reply-To"] == "<order-2@customer.example>"
    assert mail["References"] == "<order-1@customer.example> <order-2@customer.example>"
    assert mail["Message-ID"] == f"<{result.provider_message_id}>"
    assert result.provider_message_id.endswith("@example.test")
    assert mail.get_body(("plain",)).get_content().strip() == "It ships today."
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "label.pdf"


def test_smtp_refusals_are_permanent_and_an_unreachable_server_retryable(smtp_server):
    adapter = EmailAdapter()
    with pytest.raises(SendError) as refused:
        adapter.send(
            _inbox(smtp=smtp_server, smtp_password="wrong"), OutboundMessage("a@b.example", "x")
        )
    assert not refused.value.retryable and refused.value.code == "535"
    smtp_server.stop()
    with pytest.raises(SendError) as down:
        adapter.send(_inbox(smtp=smtp_server), OutboundMessage("a@b.example", "x"))
    assert down.value.retryable


# --- parsing real-world shapes ------------------------------------------------------------------


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_gmail_alternative_prefers_plain_text_and_keeps_sanitized_html():
    event = parse_mail(_fixture("gmail_alternative.eml"))
    assert isinstance(event, InboundMessage)
    assert event.sender == "maria.lopez@gmail.example"
    assert event.sender_name == "María López"
    assert event.subject == "Pedido atrasado"
    assert event.text.startswith("Hola, mi pedido")
    assert event.provider_message_id == "CAF=abc123@mail.gmail.example"
    assert "<script" not in event.payload["html"]
    assert "onerror" not in event.payload["html"]
    assert 'data-remote-src="https://tracker.example/pixel.gif"' in event.payload["html"]
    assert ' src="https://' not in event.payload["html"]


def test_outlook_reply_threads_by_in_reply_to_and_references():
    event = parse_mail(_fixture("outlook_reply.eml"))
    assert event.reply_to_provider_id == "reply-1@example.test"
    assert event.payload["references"] == ["order-1@customer.example", "reply-1@example.test"]
    assert event.payload["cc"] == ["colleague@customer.example"]
    assert "Thanks, that helps" in event.text


def test_apple_mail_attachment_and_inline_image_are_kept():
    event = parse_mail(_fixture("apple_attachment.eml"))
    kinds = sorted((a.kind, a.filename) for a in event.attachments)
    assert kinds == [("document", "invoice.pdf"), ("image", "photo.png")]
    assert all(a.content for a in event.attachments)
    assert any(a.content_id == "photo@apple.example" for a in event.attachments)


def test_non_utf8_and_wrong_charsets_are_decoded_not_lost():
    latin = parse_mail(_fixture("latin1.eml"))
    assert "Müller" in latin.text and "Grüße" in latin.text
    wrong = parse_mail(_fixture("unknown_charset.eml"))
    assert "order" in wrong.text


def test_html_only_mail_gets_a_text_version():
    event = parse_mail(_fixture("mailing_list_digest.eml"))
    assert "Weekly digest" in event.text
    assert "<" not in event.text


def test_a_bounce_of_our_reply_is_a_failed_status_of_it():
    event = parse_mail(_fixture("bounce.eml"))
    assert isinstance(event, StatusUpdate)
    assert event.status == "failed"
    assert event.provider_message_id == "reply-1@example.test"
    assert "550" in event.error_text


def test_an_auto_reply_opens_nothing():
    with pytest.raises(IgnoredDelivery, match="automatic reply"):
        parse_mail(_fixture("auto_reply.eml"))


def test_broken_mail_without_a_sender_is_a_dead_letter_with_its_reason():
    with pytest.raises(UnparseableDelivery, match="no From address"):
        parse_mail(b"Subject: nothing\r\n\r\nno sender here")
    garbage = parse_mail(b"From: x@y.example\r\nContent-Type: multipart/mixed\r\n\r\n--\x00\xff")
    assert garbage.sender == "x@y.example"


def test_a_mail_without_message_id_is_identified_by_its_bytes():
    raw = b"From: x@y.example\r\nSubject: hi\r\n\r\nhello"
    assert parse_mail(raw).provider_message_id == parse_mail(raw).provider_message_id
    assert parse_mail(raw).provider_message_id.startswith("sha256-")
