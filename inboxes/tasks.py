"""Background work for inbound deliveries, run by `manage.py db_worker` (Django's Tasks)."""

from django.tasks import task
from django.utils import timezone

from conversations.services.attachments import download_inbound_attachment
from inboxes.inbound import process_webhook_delivery, requeue_stale_deliveries


@task
def process_delivery(company_id: int, delivery_id: int) -> str:
    """Parse one stored webhook delivery and apply its events."""
    return process_webhook_delivery(company_id=company_id, delivery_id=delivery_id)


@task
def download_attachment(company_id: int, attachment_id: int) -> str:
    """Fetch one inbound file; a retryable failure enqueues itself again, later (bounded)."""
    outcome = download_inbound_attachment(company_id=company_id, attachment_id=attachment_id)
    if outcome.retry_in is not None:
        download_attachment.using(run_after=timezone.now() + outcome.retry_in).enqueue(
            company_id=company_id, attachment_id=attachment_id
        )
    return outcome.state or "nothing to do"


@task
def sweep_deliveries() -> str:
    """Re-enqueue deliveries whose processing task was lost (for the periodic sweep)."""
    return f"{requeue_stale_deliveries()} re-enqueued"
