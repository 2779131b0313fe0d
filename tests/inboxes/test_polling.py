"""Mailbox polling stores each new mail as a delivery before anything else, once, and keeps its
place in the mailbox only after the mails are stored."""

import pytest

from inboxes.models import WebhookDelivery
from inboxes.polling import poll_mailbox
from tests.factories import InboxFactory
from tests.inboxes.channels.test_email import ADDRESS, _mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def email_inbox(dovecot, settings):
    dovecot.add_user(ADDRESS, "imap-secret")
    settings.EMAIL_TLS_CA_FILE = str(dovecot.root / "cert.pem")
    return InboxFactory(
        kind="email",
        credentials={
            "email_address": ADDRESS,
            "imap_host": "127.0.0.1",
            "imap_port": str(dovecot.port),
            "imap_username": ADDRESS,
            "imap_password": "imap-secret",
            "smtp_host": "127.0.0.1",
            "smtp_port": "1",
            "smtp_username": ADDRESS,
            "smtp_password": "x",
        },
    )


def test_new_mail_is_stored_raw_once_and_the_position_kept(dovecot, email_inbox):
    dovecot.deliver(ADDRESS, _mail())
    dovecot.deliver(ADDRESS, _mail("Second", Message_ID="<order-2@customer.example>"))

    assert poll_mailbox(email_inbox) == 2
    deliveries = WebhookDelivery.objects.filter(inbox=email_inbox).order_by("id")
    assert [d.content_type for d in deliveries] == ["message/rfc822"] * 2
    assert b"Message-ID: <order-1@customer.example>" in bytes(deliveries[0].body)
    email_inbox.refresh_from_db()
    assert email_inbox.sync_state["last_uid"] == 2 and email_inbox.sync_state["last_error"] == ""
    assert all(b"\\Seen" in flags for flags in dovecot.flags(ADDRESS))

    assert poll_mailbox(email_inbox) == 0
    dovecot.deliver(ADDRESS, _mail("Third", Message_ID="<order-3@customer.example>"))
    assert poll_mailbox(email_inbox) == 1
    assert WebhookDelivery.objects.filter(inbox=email_inbox).count() == 3


def test_a_mailbox_that_cannot_be_reached_keeps_its_place_and_says_why(dovecot, email_inbox):
    dovecot.deliver(ADDRESS, _mail())
    good = dict(email_inbox.credentials)
    email_inbox.credentials = {**good, "imap_password": "wrong"}
    assert poll_mailbox(email_inbox) == 0
    email_inbox.refresh_from_db()
    assert "refused the sign-in" in email_inbox.sync_state["last_error"]
    assert not WebhookDelivery.objects.filter(inbox=email_inbox).exists()

    email_inbox.credentials = good
    assert poll_mailbox(email_inbox) == 1


def test_mail_can_be_moved_out_of_the_inbox_instead(dovecot, email_inbox, settings):
    settings.EMAIL_MOVE_TO_FOLDER = "Hub"
    dovecot.deliver(ADDRESS, _mail())
    assert poll_mailbox(email_inbox) == 1
    assert dovecot.flags(ADDRESS) == []


def test_the_sweep_starts_polling_once_and_a_second_chain_ends_itself(email_inbox, settings):
    from django_tasks_db.models import DBTaskResult

    from inboxes.polling import ensure_mailbox_polling, poll_mailboxes

    def queued() -> int:
        return DBTaskResult.objects.filter(task_path__endswith="poll_mailboxes").count()

    assert ensure_mailbox_polling() is True
    assert queued() == 1
    poll_mailboxes.call(reschedule=True)  # the chain's first round: polls, queues the next
    assert queued() == 2
    assert ensure_mailbox_polling() is False  # a round just ran: nothing to restart
    assert poll_mailboxes.call(reschedule=True) == 0  # a second chain sees it and ends
    assert queued() == 2
