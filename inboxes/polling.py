"""Pull channels (email over IMAP): a periodic task fetches new mail of every active email inbox and
stores each one as a delivery, exactly like a webhook's, before anything else is done with it.

Django's Tasks framework has no schedule of its own, so `poll_mailboxes` re-enqueues itself every
EMAIL_POLL_SECONDS; `manage.py run_hub` starts it, and the delivery sweep restarts it when it was
lost. The mailbox position (UIDVALIDITY, last UID) is saved only after the mails are stored, so a
connection dropped mid-fetch fetches them again next time, and Message-ID deduplication keeps them
one message each.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from inboxes.channels import CredentialsRejected, SendError, adapter_for
from inboxes.channels.email import RFC822
from inboxes.models import Inbox, WebhookDelivery

log = logging.getLogger(__name__)


def _process(delivery: WebhookDelivery) -> None:
    from inboxes.tasks import process_delivery

    process_delivery.enqueue(company_id=delivery.company_id, delivery_id=delivery.pk)


def _enqueue_processing(delivery: WebhookDelivery) -> None:
    transaction.on_commit(lambda: _process(delivery))


def poll_mailbox(inbox: Inbox) -> int:
    """Store the inbox's new mail as deliveries (processed by their task); how many were stored.
    The outcome is kept on the inbox (sync_state) for its health page."""
    adapter = adapter_for(inbox)
    state = dict(inbox.sync_state or {})
    now = timezone.now()
    try:
        mails, position = adapter.fetch_new(inbox, state=state, limit=settings.EMAIL_FETCH_BATCH)
    except (SendError, CredentialsRejected) as failure:
        state.update(last_poll_at=now.isoformat(), last_error=str(failure)[:500])
        Inbox.objects.filter(company_id=inbox.company_id, pk=inbox.pk).update(sync_state=state)
        log.warning("Mailbox of inbox %s not polled: %s", inbox.pk, failure)
        return 0
    with transaction.atomic():
        for _uid, raw in mails:
            delivery = WebhookDelivery.objects.create(
                company_id=inbox.company_id,
                inbox=inbox,
                received_at=now,
                content_type=RFC822,
                body=raw,
            )
            _enqueue_processing(delivery)
        last_uid = max([uid for uid, _ in mails], default=position["last_uid"])
        state.update(
            uidvalidity=position["uidvalidity"],
            last_uid=last_uid,
            last_poll_at=now.isoformat(),
            last_error="",
        )
        Inbox.objects.filter(company_id=inbox.company_id, pk=inbox.pk).update(sync_state=state)
    try:
        adapter.mark_fetched(inbox, [uid for uid, _ in mails])
    except (SendError, CredentialsRejected, OSError) as failure:
        # stored already: only the Seen flag (or the move) waits for the next poll
        log.warning("Mail of inbox %s stored but not marked: %s", inbox.pk, failure)
    return len(mails)


def _email_inboxes():  # noqa: ANN202 - a queryset of Inbox
    return Inbox.objects.filter(kind="email", is_active=True, company__is_active=True)


def _last_round() -> datetime | None:
    """When any mailbox was last polled (the newest `last_poll_at`)."""
    stamps = [
        datetime.fromisoformat(state["last_poll_at"])
        for state in _email_inboxes().values_list("sync_state", flat=True)
        if state and state.get("last_poll_at")
    ]
    return max(stamps, default=None)


@task
def poll_mailboxes(reschedule: bool = True) -> int:
    """Poll every active email inbox of every active company once, then come back in
    EMAIL_POLL_SECONDS (Django's Tasks has no schedule of its own). A second chain of this task
    (started by the sweep while the first was only late) sees the recent round and ends."""
    interval = timedelta(seconds=settings.EMAIL_POLL_SECONDS)
    last = _last_round()
    if reschedule and last is not None and timezone.now() - last < interval / 2:
        return 0
    stored = 0
    for inbox in _email_inboxes().order_by("company_id", "id").iterator():
        stored += poll_mailbox(inbox)
    if reschedule:
        poll_mailboxes.using(run_after=timezone.now() + interval).enqueue()
    return stored


def ensure_mailbox_polling() -> bool:
    """Start the polling chain when there are mailboxes and no round ran for three intervals (a
    fresh start, or the chain's task was lost); whether it was started. The sweep calls this."""
    if not _email_inboxes().exists():
        return False
    last = _last_round()
    late = timedelta(seconds=3 * settings.EMAIL_POLL_SECONDS)
    if last is not None and timezone.now() - last < late:
        return False
    poll_mailboxes.enqueue(reschedule=True)
    return True
