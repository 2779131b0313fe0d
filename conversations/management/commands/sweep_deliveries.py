"""Queue again the agent messages whose delivery task was lost (a worker killed mid-send, a
task that never ran). Run it periodically beside the workers: `--every 30` loops (run_hub does
this), or once a minute from cron."""

import time

from django.core.management.base import BaseCommand, CommandParser

from conversations.services.delivery import lost_deliveries
from conversations.tasks import deliver_message


def sweep() -> int:
    """Enqueue a delivery task for each lost message; how many. Harmless when a message's task
    does still run: only one of them claims it."""
    from inboxes.polling import ensure_mailbox_polling

    lost = lost_deliveries()
    for company_id, message_id in lost:
        deliver_message.enqueue(company_id=company_id, message_id=message_id)
    # the mailbox polling chain is one more task that can be lost: restart it when it was
    ensure_mailbox_polling()
    return len(lost)


class Command(BaseCommand):
    help = "Re-enqueue pending messages whose delivery task was lost (expired lease, never run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=float,
            default=0,
            help="Keep running, sweeping every this many seconds (default: sweep once and exit).",
        )

    def handle(self, *args: object, every: float, **options: object) -> None:
        try:
            while True:
                found = sweep()
                if found or not every:
                    noun = "delivery" if found == 1 else "deliveries"
                    self.stdout.write(f"Queued {found} lost {noun}.")
                if not every:
                    return
                time.sleep(every)
        except KeyboardInterrupt:  # Ctrl-C, or run_hub stopping
            return
