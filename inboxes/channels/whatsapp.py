"""WhatsApp Cloud API: webhooks in (signed by Meta), messages out through the Graph API's
`/<phone-number-id>/messages`. The webhook's JSON is read once, here, into pydantic models of
Meta's format, and turned into the channel layer's events."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inboxes.channels.base import (
    InboundAttachment,
    InboundMessage,
    ParsedEvent,
    SendError,
    StatusUpdate,
    UnparseableDelivery,
)
from inboxes.channels.meta import APP_SECRET, MetaAdapter, graph_request, graph_url
from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.channels.base import OutboundMessage, SendResult
    from inboxes.models import Inbox

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
MEDIA_LABELS = {
    "image": "Photo",
    "audio": "Audio",
    "voice": "Voice note",
    "video": "Video",
    "document": "Document",
    "sticker": "Sticker",
}


# --- Meta's webhook format (only what the hub reads; anything else Meta adds is ignored) -------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class WaError(_Model):
    code: int | str = ""
    title: str = ""
    message: str = ""
    error_data: dict = {}

    @property
    def text(self) -> str:
        details = str(self.error_data.get("details") or "") if self.error_data else ""
        parts = [part for part in (self.title, self.message, details) if part]
        return ": ".join(dict.fromkeys(parts))  # without repeats (title often equals message)


class WaText(_Model):
    body: str = ""


class WaMedia(_Model):
    id: str = ""
    mime_type: str = ""
    sha256: str = ""
    caption: str = ""
    filename: str = ""
    voice: bool = False
    animated: bool = False


class WaLocation(_Model):
    latitude: float | None = None
    longitude: float | None = None
    name: str = ""
    address: str = ""
    url: str = ""


class WaContactName(_Model):
    formatted_name: str = ""
    first_name: str = ""
    last_name: str = ""


class WaContactPhone(_Model):
    phone: str = ""
    wa_id: str = ""
    type: str = ""


class WaContactEmail(_Model):
    email: str = ""
    type: str = ""


class WaContactOrg(_Model):
    company: str = ""
    title: str = ""


class WaSharedContact(_Model):
    name: WaContactName = WaContactName()
    phones: list[WaContactPhone] = []
    emails: list[WaContactEmail] = []
    org: WaContactOrg | None = None


class WaReply(_Model):
    id: str = ""
    title: str = ""
    description: str = ""


class WaInteractive(_Model):
    type: str = ""
    button_reply: WaReply | None = None
    list_reply: WaReply | None = None


class WaButton(_Model):
    text: str = ""
    payload: str = ""


class WaReaction(_Model):
    message_id: str = ""
    emoji: str = ""


class WaContext(_Model):
    id: str = ""
    # set when the customer forwarded the message
    forwarded: bool = False


class WaMessage(_Model):
    sender: str = Field(alias="from")
    id: str
    timestamp: str
    type: str = "unknown"
    context: WaContext | None = None
    text: WaText | None = None
    image: WaMedia | None = None
    audio: WaMedia | None = None
    video: WaMedia | None = None
    document: WaMedia | None = None
    sticker: WaMedia | None = None
    location: WaLocation | None = None
    contacts: list[WaSharedContact] = []
    interactive: WaInteractive | None = None
    button: WaButton | None = None
    reaction: WaReaction | None = None
    errors: list[WaError] = []


class WaStatus(_Model):
    id: str
    status: str
    timestamp: str
    recipient_id: str = ""
    errors: list[WaError] = []


class WaProfile(_Model):
    name: str = ""


class WaContact(_Model):
    wa_id: str = ""
    profile: WaProfile = WaProfile()


class WaMetadata(_Model):
    phone_number_id: str
    display_phone_number: str = ""


class WaValue(_Model):
    messaging_product: str = "whatsapp"
    metadata: WaMetadata | None = None
    contacts: list[WaContact] = []
    messages: list[WaMessage] = []
    statuses: list[WaStatus] = []


class WaChange(_Model):
    field: str = ""
    value: WaValue


class WaEntry(_Model):
    id: str = ""
    changes: list[WaChange] = []


class WaWebhook(_Model):
    object: str
    entry: list[WaEntry]


# --- from Meta's format to the channel layer's events --------------------------------------


def _when(timestamp: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise UnparseableDelivery(
            f"The timestamp {timestamp[:40]!r} is not a Unix time."
        ) from error


def _contact_card(contact: WaSharedContact) -> dict:
    name = contact.name.formatted_name or " ".join(
        part for part in (contact.name.first_name, contact.name.last_name) if part
    )
    return {
        "name": name,
        "phones": [
            {"phone": phone.phone, "wa_id": phone.wa_id, "type": phone.type}
            for phone in contact.phones
        ],
        "emails": [email.email for email in contact.emails if email.email],
        "organization": contact.org.company if contact.org else "",
    }


def _message_body(message: WaMessage) -> dict:
    """kind, text, attachments, payload and reply_to_provider_id of one inbound message."""
    kind, text, payload = message.type, "", {}
    attachments: tuple[InboundAttachment, ...] = ()
    reply_to = message.context.id if message.context else ""
    media = getattr(message, message.type, None) if message.type in MEDIA_TYPES else None
    if message.type == "text" and message.text is not None:
        text = message.text.body
    elif isinstance(media, WaMedia) and media.id:
        kind = "voice" if message.type == "audio" and media.voice else message.type
        text = (
            media.caption
            or f"[{MEDIA_LABELS[kind]}{': ' + media.filename if media.filename else ''}]"
        )
        attachments = (
            InboundAttachment(
                kind=kind,
                provider_media_id=media.id,
                mime_type=media.mime_type.split(";")[0].strip(),
                filename=media.filename,
                caption=media.caption,
            ),
        )
    elif message.type == "location" and message.location is not None:
        place = message.location
        payload = {
            "latitude": place.latitude,
            "longitude": place.longitude,
            "name": place.name,
            "address": place.address,
            "url": place.url,
        }
        described = ", ".join(part for part in (place.name, place.address) if part)
        text = f"[Location: {described or f'{place.latitude}, {place.longitude}'}]"
    elif message.type == "contacts" and message.contacts:
        cards = [_contact_card(contact) for contact in message.contacts]
        payload = {"contacts": cards}
        text = "[Contact: " + ", ".join(card["name"] or "unnamed" for card in cards) + "]"
    elif message.type == "interactive" and message.interactive is not None:
        reply = message.interactive.button_reply or message.interactive.list_reply
        if reply is not None:
            payload = {
                "reply_type": message.interactive.type,
                "id": reply.id,
                "title": reply.title,
                "description": reply.description,
            }
            text = reply.title
        else:
            return _unsupported(message, reply_to)
    elif message.type == "button" and message.button is not None:
        kind = "interactive"
        payload = {
            "reply_type": "button",
            "id": message.button.payload,
            "title": message.button.text,
        }
        text = message.button.text
    elif message.type == "reaction" and message.reaction is not None:
        payload = {"target": message.reaction.message_id, "emoji": message.reaction.emoji}
        reply_to = message.reaction.message_id
        text = message.reaction.emoji or "[Removed a reaction]"
    else:
        return _unsupported(message, reply_to)
    return {
        "kind": kind,
        "text": text,
        "attachments": attachments,
        "payload": payload,
        "reply_to_provider_id": reply_to,
    }


def _unsupported(message: WaMessage, reply_to: str) -> dict:
    """A type the hub cannot show (or does not know yet): kept as a readable placeholder."""
    reason = message.errors[0].text if message.errors else ""
    return {
        "kind": "unsupported",
        "text": (
            f"[The customer sent a message of a kind that cannot be shown here "
            f"({message.type}). Ask them to send it another way.]"
        ),
        "attachments": (),
        "payload": {"type": message.type, "reason": reason},
        "reply_to_provider_id": reply_to,
    }


def parse_webhook(body: bytes) -> list[ParsedEvent]:
    """Every event in a WhatsApp webhook body (UnparseableDelivery when it is not one)."""
    try:
        webhook = WaWebhook.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        if first.get("type") == "json_invalid":
            detail = str(first.get("ctx", {}).get("error") or first.get("msg", ""))
            raise UnparseableDelivery(f"The body is not valid JSON ({detail[:200]}).") from error
        where = ".".join(str(part) for part in first.get("loc", ())) or "the body"
        raise UnparseableDelivery(
            f"Not a WhatsApp webhook: {first.get('msg', 'invalid')} at {where}."
        ) from error
    except (ValueError, RecursionError) as error:
        raise UnparseableDelivery(f"The body is not valid JSON: {error}"[:500]) from error
    if webhook.object != "whatsapp_business_account":
        raise UnparseableDelivery(
            f"Not a WhatsApp webhook: its object is {webhook.object[:80]!r}, not "
            "'whatsapp_business_account'."
        )
    events: list[ParsedEvent] = []
    for entry in webhook.entry:
        for change in entry.changes:
            value = change.value
            if change.field not in ("", "messages") or value.metadata is None:
                continue  # account updates, template reviews...: nothing for the inbox
            account = value.metadata.phone_number_id
            names = {contact.wa_id: contact.profile.name for contact in value.contacts}
            for message in value.messages:
                events.append(
                    InboundMessage(
                        account_id=account,
                        provider_message_id=message.id,
                        sender=message.sender,
                        sender_name=names.get(message.sender, ""),
                        timestamp=_when(message.timestamp),
                        **_message_body(message),
                    )
                )
            for status in value.statuses:
                if status.status not in ("sent", "delivered", "read", "failed"):
                    continue  # "deleted", "warning": nothing to show
                error = status.errors[0] if status.errors else None
                events.append(
                    StatusUpdate(
                        account_id=account,
                        provider_message_id=status.id,
                        status=status.status,
                        timestamp=_when(status.timestamp),
                        error_code=str(error.code) if error else "",
                        error_text=error.text if error else "",
                    )
                )
    return events


class WaMediaInfo(_Model):
    url: str
    mime_type: str = ""
    file_size: int | None = None


class WhatsAppAdapter(MetaAdapter):
    kind = "whatsapp"
    label = "WhatsApp"
    icon = "channels/icons/whatsapp.html"
    identity_kind = "wa_id"
    contact_field = "whatsapp_number"
    contact_pattern = r"^\+[1-9]\d{6,14}$"
    contact_error = "Use the international format, e.g. +14155550100."
    account_field = "phone_number_id"
    token_field = "access_token"
    reply_window: ClassVar[timedelta | None] = timedelta(hours=24)
    credential_fields = (
        CredentialField("phone_number_id", "Phone number ID"),
        CredentialField("business_account_id", "WhatsApp Business account ID"),
        CredentialField("access_token", "Access token", True),
        APP_SECRET,
    )

    def normalize_identity(self, value: str) -> str:
        """wa_id is the number's digits without `+`: +1 555-123-4567 and 15551234567 are one."""
        return "".join(ch for ch in value if ch.isdigit())

    def contact_for_identity(self, value: str) -> str:
        return f"+{value}"

    def parse(self, inbox: "Inbox", body: bytes, content_type: str) -> list[ParsedEvent]:
        media_type = content_type.split(";")[0].strip().lower()
        if media_type != "application/json":
            raise UnparseableDelivery(
                f"Meta sends JSON; this delivery's content type is {content_type[:100]!r}."
            )
        return parse_webhook(body)

    def download_media(self, inbox: "Inbox", attachment: InboundAttachment) -> tuple[bytes, str]:
        """Graph's two steps: the media id gives a short-lived URL, fetched with the same token;
        nothing past MEDIA_MAX_BYTES is read."""
        from django.conf import settings

        token = self.access_token(inbox)
        raw, _type = graph_request("GET", graph_url(attachment.provider_media_id), token)
        try:
            info = WaMediaInfo.model_validate_json(raw)
        except ValidationError as error:
            raise SendError(
                "Meta's answer about the media has no download URL (an unknown or expired "
                "media id).",
                retryable=False,
            ) from error
        limit = settings.MEDIA_MAX_BYTES
        if info.file_size is not None and info.file_size > limit:
            raise SendError(
                f"The file is {info.file_size / 1_048_576:.1f} MB, over the "
                f"{limit / 1_048_576:.1f} MB limit (MEDIA_MAX_BYTES); it was not downloaded.",
                retryable=False,
                code="too_large",
            )
        content, content_type = graph_request("GET", info.url, token, max_bytes=limit)
        mime = info.mime_type or content_type or attachment.mime_type
        return content, mime.split(";")[0].strip() or "application/octet-stream"

    # --- outbound (inboxes.channels.graph_client does the HTTP and the error mapping)

    def send(self, inbox: "Inbox", message: "OutboundMessage") -> "SendResult":
        """Through the Graph API's `/<phone-number-id>/messages`: text, media by uploaded id,
        `context` when replying to a message."""
        from inboxes.channels import graph_client

        return graph_client.send_whatsapp(
            graph_client.credential(inbox, self.account_field),
            graph_client.credential(inbox, self.token_field),
            message,
        )
