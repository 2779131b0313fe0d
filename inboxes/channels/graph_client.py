"""Outbound calls to Meta's Graph API, in one place: the base URL and version (settings), the
Bearer token, timeouts, the WhatsApp message bodies, and which failures are worth trying again.

Every failure becomes a SendError: retryable for timeouts, connection errors, 5xx, HTTP 429 and
Graph's throttling codes (with Retry-After when the provider gives one); permanent for the rest
(outside the 24-hour window, unknown recipient, bad parameter, expired token...), with Graph's
own code and message so the agent sees what the provider said.
"""

from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests
from django.conf import settings
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inboxes.channels.base import OutboundAttachment, OutboundMessage, SendError, SendResult
from inboxes.channels.meta import graph_url

if TYPE_CHECKING:
    from inboxes.models import Inbox

# Graph codes that mean "not now": API too busy or temporarily down (1, 2), app or account
# throttled (4, 80007), Cloud API rate limits (130429, 131048 spam rate limit, 131056 pair rate
# limit), Meta's generic "something went wrong" (131000) and "service unavailable" (133004)
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131048, 131056, 133004})
# codes that are permanent whatever the HTTP status: outside the customer-service window
# (131047), the number is not on WhatsApp (131026), invalid parameter (100), bad token (190)
PERMANENT_CODES = frozenset({100, 190, 131026, 131047})
# WhatsApp's caption limit; longer text goes out as its own message after the media
CAPTION_MAX = 1024
CAPTIONED_KINDS = frozenset({"image", "video", "document"})


class GraphErrorDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message: str = ""
    type: str = ""
    code: int = 0
    error_subcode: int | None = None
    error_data: dict[str, Any] | None = None
    fbtrace_id: str = ""

    @property
    def details(self) -> str:
        return str((self.error_data or {}).get("details") or "")


class GraphErrorAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    error: GraphErrorDetail


class SentMessageId(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str


class SendAnswer(BaseModel):
    """POST /<phone-number-id>/messages: the `wamid.` of the accepted message."""

    model_config = ConfigDict(extra="ignore")

    messages: list[SentMessageId] = Field(min_length=1)


class UploadAnswer(BaseModel):
    """POST /<phone-number-id>/media: the id to send the file by."""

    model_config = ConfigDict(extra="ignore")

    id: str


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def error_for(response: requests.Response) -> SendError:
    """What a non-2xx Graph answer means for delivery."""
    status = response.status_code
    try:
        detail = GraphErrorAnswer.model_validate_json(response.content).error
    except ValidationError:
        detail = GraphErrorDetail(message=response.reason or "")
    code = detail.code
    reason = detail.message or f"The Graph API answered HTTP {status}."
    if detail.details and detail.details not in reason:
        reason = f"{reason} {detail.details}"
    if code in PERMANENT_CODES:
        retryable = False
    else:
        retryable = code in TRANSIENT_CODES or status >= 500 or status == 429
    return SendError(
        reason,
        retryable=retryable,
        code=str(code) if code else f"http_{status}",
        retry_after=_retry_after(response),
    )


def _call(method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
    """One Graph request with the token and the provider timeout; SendError unless 2xx."""
    timeout = settings.PROVIDER_TIMEOUT_SECONDS
    try:
        response = requests.request(
            method,
            graph_url(path),
            headers={"Authorization": f"Bearer {token}"},
            timeout=(min(timeout, 5.0), timeout),
            **kwargs,
        )
    except requests.Timeout as timed_out:
        raise SendError(
            f"The Graph API did not answer within {timeout:g} seconds.",
            retryable=True,
            code="timeout",
        ) from timed_out
    except requests.ConnectionError as unreachable:
        raise SendError(
            "The Graph API could not be reached (connection failed).",
            retryable=True,
            code="connection",
        ) from unreachable
    except requests.RequestException as broken:
        raise SendError(
            f"The request to the Graph API failed: {broken}", code="request"
        ) from broken
    if not response.ok:
        raise error_for(response)
    return response


def _parsed(response: requests.Response, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as unreadable:
        raise SendError(
            "The Graph API accepted the request but its answer could not be read.",
            code="bad_answer",
        ) from unreadable


def upload_media(phone_number_id: str, token: str, attachment: OutboundAttachment) -> str:
    """Upload a file to WhatsApp (multipart, as Meta documents it); its media id."""
    response = _call(
        "POST",
        f"{phone_number_id}/media",
        token,
        data={"messaging_product": "whatsapp", "type": attachment.mime_type},
        files={"file": (attachment.filename, attachment.content, attachment.mime_type)},
    )
    return _parsed(response, UploadAnswer).id


def whatsapp_body(
    recipient: str,
    kind: str,
    content: dict[str, Any],
    reply_to: str = "",
) -> dict[str, Any]:
    """A Cloud API message: `kind` is text, image, document, audio or video."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": kind,
        kind: content,
    }
    if reply_to:
        body["context"] = {"message_id": reply_to}
    return body


def _media_content(
    attachment: OutboundAttachment, media_id: str, caption: str = ""
) -> dict[str, str]:
    content = {"id": media_id}
    if caption:
        content["caption"] = caption
    if attachment.kind == "document" and attachment.filename:
        content["filename"] = attachment.filename
    return content


def send_whatsapp(phone_number_id: str, token: str, message: OutboundMessage) -> SendResult:
    """Send an agent's message through `/<phone-number-id>/messages`: each attachment by
    uploaded media id (the text as the first one's caption when it fits), then the text alone
    if it did not; the id of the last accepted message is the one recorded."""
    if not phone_number_id or not token:
        raise SendError(
            "This inbox has no phone number ID or access token. Add them on the inbox page, "
            "then retry.",
            retryable=False,
            code="credentials",
        )
    if not message.recipient:
        raise SendError(
            "This customer has no WhatsApp ID. Add their WhatsApp number, then retry.",
            retryable=False,
            code="recipient",
        )
    bodies: list[dict[str, Any]] = []
    text = message.text
    for attachment in message.attachments:
        kind = attachment.kind if attachment.kind in ("image", "audio", "video") else "document"
        caption = ""
        if text and kind in CAPTIONED_KINDS and len(text) <= CAPTION_MAX:
            caption, text = text, ""
        media_id = upload_media(phone_number_id, token, attachment)
        content = _media_content(attachment, media_id, caption)
        bodies.append(whatsapp_body(message.recipient, kind, content, message.reply_to_provider_id))
    if text:
        content = {"preview_url": False, "body": text}
        bodies.append(
            whatsapp_body(message.recipient, "text", content, message.reply_to_provider_id)
        )
    if not bodies:
        raise SendError("There is nothing to send.", retryable=False, code="empty")
    provider_id = ""
    for body in bodies:
        response = _call("POST", f"{phone_number_id}/messages", token, json=body)
        provider_id = _parsed(response, SendAnswer).messages[0].id
    return SendResult(provider_message_id=provider_id)


def credential(inbox: "Inbox", name: str) -> str:
    """One of the inbox's saved credentials ("" when missing)."""
    return str((inbox.credentials or {}).get(name) or "")


class SendApiAnswer(BaseModel):
    """POST /<page-id>/messages (Messenger and Instagram's Send API): the `m_` id."""

    model_config = ConfigDict(extra="ignore")

    recipient_id: str = ""
    message_id: str = Field(min_length=1)


SEND_API_FILE_TYPES = frozenset({"image", "audio", "video"})


def send_messenger(
    account_id: str,
    token: str,
    message: OutboundMessage,
    *,
    tag: str = "",
    label: str = "Messenger",
    upload_files: bool = True,
) -> SendResult:
    """Send an agent's message through the Send API (`/<page-id>/messages`, also Instagram's):
    each file as an upload, then the text; `messaging_type` RESPONSE inside the 24-hour window,
    MESSAGE_TAG with `tag` (HUMAN_AGENT) after it. The last accepted message's id is recorded."""
    if not account_id or not token:
        raise SendError(
            f"This inbox has no {label} account ID or access token. Add them on the inbox page, "
            "then retry.",
            retryable=False,
            code="credentials",
        )
    if not message.recipient:
        raise SendError(
            f"This customer has no {label} id in this inbox (they must write first).",
            retryable=False,
            code="recipient",
        )
    envelope: dict[str, Any] = {
        "recipient": json_dumps({"id": message.recipient}),
        "messaging_type": "MESSAGE_TAG" if tag else "RESPONSE",
    }
    if tag:
        envelope["tag"] = tag
    sends: list[dict[str, Any]] = []
    for attachment in message.attachments if upload_files else ():
        kind = attachment.kind if attachment.kind in SEND_API_FILE_TYPES else "file"
        content: dict[str, Any] = {"attachment": {"type": kind, "payload": {"is_reusable": False}}}
        if message.reference:
            content["metadata"] = message.reference
        sends.append(
            {
                "data": {**envelope, "message": json_dumps(content)},
                "files": {
                    "filedata": (attachment.filename, attachment.content, attachment.mime_type)
                },
            }
        )
    if message.text:
        content = {"text": message.text}
        if message.reference:
            content["metadata"] = message.reference
        sends.append(
            {
                "json": {
                    **{key: value for key, value in envelope.items() if key != "recipient"},
                    "recipient": {"id": message.recipient},
                    "message": content,
                }
            }
        )
    if not sends:
        raise SendError("There is nothing to send.", retryable=False, code="empty")
    provider_id = ""
    for send in sends:
        response = _call("POST", f"{account_id}/messages", token, **send)
        provider_id = _parsed(response, SendApiAnswer).message_id
    return SendResult(provider_message_id=provider_id)


def json_dumps(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))
