"""Sign a webhook payload with an inbox's app secret and post it to the hub, as Meta would."""

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from inboxes.channels import adapter_for
from inboxes.channels.meta import MetaAdapter, credential, signature_of
from inboxes.models import Inbox


class Command(BaseCommand):
    help = (
        "Post a payload file to an inbox's webhook, signed with its app secret (X-Hub-Signature-"
        "256), as Meta would. In the file, $PHONE_NUMBER_ID becomes the inbox's phone number id, "
        "$MESSAGE_ID a new message id and $NOW the current Unix time. Examples: "
        "inboxes/local_providers/examples/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inbox_id", type=int)
        parser.add_argument("payload", type=Path, help="a JSON file (see the examples folder)")
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="the hub's address (default: %(default)s)",
        )

    def handle(
        self, *args: object, inbox_id: int, payload: Path, url: str, **options: object
    ) -> None:
        inbox = Inbox.objects.filter(pk=inbox_id).first()
        if inbox is None:
            raise CommandError(f"No inbox has id {inbox_id}.")
        adapter = adapter_for(inbox)
        if not isinstance(adapter, MetaAdapter):
            raise CommandError(f"{inbox} is not a Meta channel (WhatsApp, Messenger, Instagram).")
        secret = credential(inbox, "app_secret")
        if not secret:
            raise CommandError(f"{inbox} has no app secret to sign with; set it on its page.")
        try:
            text = payload.read_text()
        except OSError as error:
            raise CommandError(f"Cannot read {payload}: {error.strerror}.") from error
        text = (
            text.replace("$PHONE_NUMBER_ID", adapter.account_id(inbox))
            .replace("$MESSAGE_ID", f"wamid.TEST{uuid.uuid4().hex.upper()}")
            .replace("$NOW", str(int(time.time())))
        )
        try:
            body = json.dumps(json.loads(text)).encode()
        except ValueError as error:
            raise CommandError(f"{payload} is not JSON: {error}.") from error
        path = reverse(
            "inboxes:webhook", kwargs={"kind": inbox.kind, "public_key": inbox.public_key}
        )
        request = urllib.request.Request(
            url.rstrip("/") + path,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": signature_of(body, secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a hub URL
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.read()
        except urllib.error.URLError as error:
            raise CommandError(f"The hub at {url} cannot be reached: {error.reason}.") from error
        line = f"{status} {answer.decode(errors='replace')[:200]}"
        if status >= 400:
            raise CommandError(f"The hub refused the delivery: {line}")
        self.stdout.write(self.style.SUCCESS(f"Delivered to {inbox} ({url}{path}): {line}"))
