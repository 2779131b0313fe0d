"""Files customers send: fetched from the provider into storage after the message is stored. A
failed download keeps the message and is tried again, a few times, then says why it failed."""

import mimetypes
import random
from dataclasses import dataclass
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.text import get_valid_filename

from conversations.models import MessageAttachment
from conversations.services.common import _touch
from inboxes.channels import InboundAttachment, SendError, adapter_for

MAX_DOWNLOAD_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 10
LONGEST_RETRY_SECONDS = 15 * 60


@dataclass(frozen=True)
class DownloadOutcome:
    state: str  # stored, failed, pending (retry after `retry_in`), or "" (nothing to do)
    retry_in: timedelta | None = None


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about 10 s, 20 s, 40 s... at most 15 minutes."""
    seconds = min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - not a secret


def _stored_name(attachment: MessageAttachment, mime_type: str) -> str:
    if attachment.filename:
        name = get_valid_filename(attachment.filename)[:120]
        if name:
            return name
    extension = mimetypes.guess_extension(mime_type) or ""
    return f"{attachment.kind}-{attachment.pk}{extension}"


def download_inbound_attachment(*, company_id: int, attachment_id: int) -> DownloadOutcome:
    """Fetch one pending inbound file through its inbox's adapter (run by a task, acting for the
    system). The provider is called outside any transaction."""
    attachment = (
        MessageAttachment.objects.select_related("message__inbox")
        .filter(company_id=company_id, pk=attachment_id, state=MessageAttachment.State.PENDING)
        .first()
    )
    if attachment is None or attachment.message.inbox is None:
        return DownloadOutcome("")
    inbox = attachment.message.inbox
    wanted = InboundAttachment(
        kind=attachment.kind,
        provider_media_id=attachment.provider_media_id,
        url=attachment.source_url,
        mime_type=attachment.mime_type,
        filename=attachment.filename,
    )
    attempts = attachment.attempts + 1
    try:
        content, mime_type = adapter_for(inbox).download_media(inbox, wanted)
    except SendError as error:
        retry = error.retryable and attempts < MAX_DOWNLOAD_ATTEMPTS
        state = MessageAttachment.State.PENDING if retry else MessageAttachment.State.FAILED
        reason = str(error)
        if error.retryable and not retry:
            reason = f"{reason} Gave up after {attempts} attempts."
        _finish(attachment, state=state, attempts=attempts, error=reason[:2000])
        return DownloadOutcome(state, retry_delay(attempts) if retry else None)
    attachment.file.save(_stored_name(attachment, mime_type), ContentFile(content), save=False)
    _finish(
        attachment,
        state=MessageAttachment.State.STORED,
        attempts=attempts,
        error="",
        file=attachment.file.name,
        size=len(content),
        mime_type=(mime_type or attachment.mime_type)[:255],
    )
    return DownloadOutcome(MessageAttachment.State.STORED)


def _finish(attachment: MessageAttachment, **changes: object) -> None:
    with transaction.atomic():
        MessageAttachment.objects.filter(
            company_id=attachment.company_id,
            pk=attachment.pk,
            state=MessageAttachment.State.PENDING,
        ).update(**changes)
        _touch(attachment.company_id, attachment.message.conversation_id)
