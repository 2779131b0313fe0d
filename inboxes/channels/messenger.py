"""Facebook Messenger and Instagram messaging: webhooks in (`object: page` / `object: instagram`,
each entry's `messaging` events, signed like WhatsApp's), messages out through the Send API with
the page's (or the Instagram account's) token. Customers are page-scoped ids (PSID, IGSID):
identities scoped to the inbox. The webhook's JSON is read once, here, into pydantic models of
Meta's format, and turned into the channel layer's events."""

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from inboxes.channels.base import (
    InboundAttachment,
    InboundMessage,
    MessageRemoved,
    ParsedEvent,
    SendError,
    StatusUpdate,
    StatusWatermark,
    UnparseableDelivery,
)
from inboxes.channels.meta import APP_SECRET, MetaAdapter, graph_request, graph_url
from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.channels.base import OutboundMessage, SendResult
    from inboxes.models import Inbox

logger = logging.getLogger(__name__)

# what the hub puts in a Send API message's `metadata`: Messenger echoes it back, so the echo of
# our own send is recognised even before the send's answer was recorded
HUB_REFERENCE_PREFIX = "hub-message:"
# Messenger attachment types and the Message.Kind each becomes
ATTACHMENT_KINDS = {
    "image": "image",
    "video": "video",
    "audio": "audio",
    "file": "document",
    "ig_reel": "video",
    "reel": "video",
    "animated_image_share": "image",
}
KIND_LABELS = {"image": "Photo", "video": "Video", "audio": "Audio", "document": "File"}
HUMAN_AGENT_WINDOW = timedelta(days=7)
YES = frozenset({"yes", "true", "on", "1", "y"})


# --- Meta's messaging webhook format (only what the hub reads) --------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class MsUser(_Model):
    id: str = ""


class MsPayload(_Model):
    url: str = ""
    title: str = ""
    sticker_id: int | str | None = None
    id: str = ""  # a story mention's story id


class MsAttachment(_Model):
    type: str = ""
    payload: MsPayload | None = None
    # older fallback attachments carry these outside the payload
    title: str = ""
    url: str = ""


class MsQuickReply(_Model):
    payload: str = ""


class MsStory(_Model):
    url: str = ""
    id: str = ""


class MsReplyTo(_Model):
    mid: str = ""
    story: MsStory | None = None


class MsMessage(_Model):
    mid: str = ""
    text: str = ""
    is_echo: bool = False
    app_id: int | str | None = None
    metadata: str = ""
    quick_reply: MsQuickReply | None = None
    reply_to: MsReplyTo | None = None
    attachments: list[MsAttachment] = []
    is_deleted: bool = False
    is_unsupported: bool = False


class MsPostback(_Model):
    mid: str = ""
    title: str = ""
    payload: str = ""


class MsReaction(_Model):
    mid: str = ""
    action: str = "react"
    reaction: str = ""
    emoji: str = ""


class MsDelivery(_Model):
    mids: list[str] = []
    watermark: int | None = None


class MsRead(_Model):
    watermark: int | None = None
    mid: str = ""  # Instagram's seen receipt names the message


class MsMessaging(_Model):
    sender: MsUser = MsUser()
    recipient: MsUser = MsUser()
    timestamp: int = 0
    message: MsMessage | None = None
    postback: MsPostback | None = None
    reaction: MsReaction | None = None
    delivery: MsDelivery | None = None
    read: MsRead | None = None


class MsEntry(_Model):
    id: str = ""
    time: int = 0
    messaging: list[MsMessaging] = []


class MsWebhook(_Model):
    object: str
    entry: list[MsEntry]


class SendApiAnswer(_Model):
    recipient_id: str = ""
    message_id: str


class ProfileAnswer(_Model):
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    username: str = ""


# --- from Meta's format to the channel layer's events -----------------------------------------


def _when(milliseconds: int) -> datetime:
    try:
        # Meta's messaging timestamps are milliseconds; tolerate seconds
        seconds = milliseconds / 1000 if milliseconds > 10**11 else milliseconds
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise UnparseableDelivery(f"The timestamp {milliseconds!r} is not a Unix time.") from error


def _attachment_url(attachment: MsAttachment) -> str:
    return (attachment.payload.url if attachment.payload else "") or attachment.url


def _attachments(message: MsMessage) -> tuple[str, str, tuple[InboundAttachment, ...], dict]:
    """kind, text, attachments and payload of a message with attachments."""
    files: list[InboundAttachment] = []
    links: list[dict] = []
    kind, labels = "text", []
    for attachment in message.attachments:
        url = _attachment_url(attachment)
        title = attachment.payload.title if attachment.payload else attachment.title
        file_kind = ATTACHMENT_KINDS.get(attachment.type)
        if attachment.type == "image" and attachment.payload and attachment.payload.sticker_id:
            file_kind = "sticker"
        if file_kind and url:
            files.append(InboundAttachment(kind=file_kind, url=url))
            kind = file_kind if kind == "text" else kind
            labels.append(KIND_LABELS.get(file_kind, "Sticker"))
        elif attachment.type == "story_mention":
            links.append(
                {
                    "type": "story_mention",
                    "url": url,
                    "id": attachment.payload.id if attachment.payload else "",
                }
            )
            labels.append("Mentioned you in their story")
        else:  # fallback, share, template, location...: shown as a link
            links.append({"type": attachment.type, "url": url, "title": title})
            labels.append(
                f"{attachment.type.replace('_', ' ').capitalize() or 'Link'}: {title or url}"
            )
    payload: dict = {}
    if links:
        payload["links"] = links
        payload["with_text"] = bool(message.text)
        if any(link["type"] == "story_mention" for link in links):
            payload["story_expires"] = True
    text = message.text or "[" + "; ".join(labels) + "]"
    if links and not files:
        kind = "text"
    return kind, text, tuple(files), payload


def _message_event(
    messaging: MsMessaging, account: str, customer: str, from_business: bool
) -> ParsedEvent | None:
    message = messaging.message
    assert message is not None
    when = _when(messaging.timestamp)
    if message.is_deleted:
        return MessageRemoved(
            account_id=account, provider_message_id=message.mid, sender=customer, timestamp=when
        )
    if from_business and message.metadata.startswith(HUB_REFERENCE_PREFIX):
        return None  # the echo of the hub's own send: stored already
    reply_to = message.reply_to.mid if message.reply_to and message.reply_to.mid else ""
    payload: dict = {}
    if message.attachments:
        kind, text, files, payload = _attachments(message)
    else:
        kind, text, files = "text", message.text, ()
    if message.quick_reply is not None:
        kind = "interactive"
        payload = {"reply_type": "quick_reply", "id": message.quick_reply.payload, "title": text}
    if message.reply_to and message.reply_to.story:
        story = message.reply_to.story
        payload = {
            **payload,
            "story_reply": {"url": story.url, "id": story.id},
            "story_expires": True,
        }
        text = f"[Replied to your story] {text}".strip()
    if message.is_unsupported or (not text and not files):
        kind, text = (
            "unsupported",
            (
                "[The customer sent a message of a kind that cannot be shown here. Ask them to send "
                "it another way.]"
            ),
        )
    return InboundMessage(
        account_id=account,
        provider_message_id=message.mid,
        sender=customer,
        timestamp=when,
        kind=kind,
        text=text,
        attachments=files,
        payload=payload,
        reply_to_provider_id=reply_to,
        from_business=from_business,
    )


def _events(messaging: MsMessaging, page: str) -> list[ParsedEvent]:
    """The events of one `messaging` item of the page (or Instagram account) `page`."""
    from_business = messaging.sender.id == page or bool(
        messaging.message and messaging.message.is_echo
    )
    customer = messaging.recipient.id if from_business else messaging.sender.id
    account = page
    when = _when(messaging.timestamp) if messaging.timestamp else datetime.now(tz=UTC)
    if messaging.message is not None and messaging.message.mid:
        event = _message_event(messaging, account, customer, from_business)
        return [event] if event is not None else []
    if messaging.postback is not None:
        postback = messaging.postback
        return [
            InboundMessage(
                account_id=account,
                provider_message_id=postback.mid
                or f"postback:{customer}:{messaging.timestamp}:{postback.payload}"[:255],
                sender=customer,
                timestamp=when,
                kind="interactive",
                text=postback.title or postback.payload,
                payload={"reply_type": "postback", "id": postback.payload, "title": postback.title},
            )
        ]
    if messaging.reaction is not None:
        reaction = messaging.reaction
        removed = reaction.action == "unreact"
        return [
            InboundMessage(
                account_id=account,
                provider_message_id=(
                    f"reaction:{reaction.mid}:{customer}:{messaging.timestamp}:{reaction.action}"
                )[:255],
                sender=customer,
                timestamp=when,
                kind="reaction",
                text="[Removed a reaction]" if removed else (reaction.emoji or reaction.reaction),
                payload={
                    "target": reaction.mid,
                    "emoji": "" if removed else reaction.emoji,
                    "reaction": reaction.reaction,
                    "action": reaction.action,
                },
                reply_to_provider_id=reaction.mid,
            )
        ]
    events: list[ParsedEvent] = []
    if messaging.delivery is not None:
        delivery = messaging.delivery
        for mid in delivery.mids:
            events.append(
                StatusUpdate(
                    account_id=account, provider_message_id=mid, status="delivered", timestamp=when
                )
            )
        if delivery.watermark:
            events.append(
                StatusWatermark(
                    account_id=account,
                    recipient=customer,
                    status="delivered",
                    watermark=_when(delivery.watermark),
                )
            )
    if messaging.read is not None:
        read = messaging.read
        if read.mid:
            events.append(
                StatusUpdate(
                    account_id=account, provider_message_id=read.mid, status="read", timestamp=when
                )
            )
        watermark = read.watermark or (messaging.timestamp if read.mid else 0)
        if watermark:
            events.append(
                StatusWatermark(
                    account_id=account,
                    recipient=customer,
                    status="read",
                    watermark=_when(watermark),
                )
            )
    return events


def parse_webhook(body: bytes, expected_object: str, label: str) -> list[ParsedEvent]:
    """Every event in a Messenger (`page`) or Instagram (`instagram`) webhook body."""
    try:
        webhook = MsWebhook.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        if first.get("type") == "json_invalid":
            detail = str(first.get("ctx", {}).get("error") or first.get("msg", ""))
            raise UnparseableDelivery(f"The body is not valid JSON ({detail[:200]}).") from error
        where = ".".join(str(part) for part in first.get("loc", ())) or "the body"
        raise UnparseableDelivery(
            f"Not a {label} webhook: {first.get('msg', 'invalid')} at {where}."
        ) from error
    except (ValueError, RecursionError) as error:
        raise UnparseableDelivery(f"The body is not valid JSON: {error}"[:500]) from error
    if webhook.object != expected_object:
        raise UnparseableDelivery(
            f"Not a {label} webhook: its object is {webhook.object[:80]!r}, not "
            f"{expected_object!r}."
        )
    events: list[ParsedEvent] = []
    for entry in webhook.entry:
        for messaging in entry.messaging:
            events.extend(_events(messaging, entry.id))
    return events


# --- the adapters -------------------------------------------------------------------------------


class _SendApiAdapter(MetaAdapter):
    """What Messenger and Instagram share: the webhook format, the Send API, the 24-hour window
    with the HUMAN_AGENT tag's 7 days when the inbox is allowed to use it."""

    webhook_object: ClassVar[str]
    identity_is_inbox_scoped = True
    reply_window: ClassVar[timedelta | None] = timedelta(hours=24)
    # Messenger takes files as uploads; Instagram only by a public URL the hub does not have
    sends_files: ClassVar[bool] = True
    profile_fields: ClassVar[str]
    # Messenger echoes a send's `metadata` back (the hub's reference); Instagram has no such field
    sends_metadata: ClassVar[bool] = True

    def human_agent_allowed(self, inbox: "Inbox") -> bool:
        from inboxes.channels.meta import credential

        return credential(inbox, "human_agent_tag").strip().lower() in YES

    def allowed_reply_window(self, inbox: "Inbox") -> timedelta | None:
        return HUMAN_AGENT_WINDOW if self.human_agent_allowed(inbox) else self.reply_window

    def reply_window_note(self, inbox: "Inbox") -> str:
        if self.human_agent_allowed(inbox):
            return "Meta allows no later message, even with the HUMAN_AGENT tag"
        return (
            "replies up to 7 days later need the HUMAN_AGENT tag: turn it on in the inbox's "
            "settings once Meta approved the app's Human Agent permission"
        )

    def parse(self, inbox: "Inbox", body: bytes, content_type: str) -> list[ParsedEvent]:
        media_type = content_type.split(";")[0].strip().lower()
        if media_type != "application/json":
            raise UnparseableDelivery(
                f"Meta sends JSON; this delivery's content type is {content_type[:100]!r}."
            )
        return parse_webhook(body, self.webhook_object, self.label)

    def download_media(self, inbox: "Inbox", attachment: InboundAttachment) -> tuple[bytes, str]:
        """The attachment's URL (Meta's CDN; it expires), nothing past MEDIA_MAX_BYTES read."""
        from django.conf import settings

        if not attachment.url:
            raise SendError("The attachment has no download URL.", retryable=False)
        content, content_type = graph_request(
            "GET", attachment.url, self.access_token(inbox), max_bytes=settings.MEDIA_MAX_BYTES
        )
        mime = content_type or attachment.mime_type
        return content, mime.split(";")[0].strip() or "application/octet-stream"

    def customer_name(self, inbox: "Inbox", identity: str) -> str:
        """The profile API's name for a page-scoped id; "" when Meta does not give it."""
        token = self.access_token(inbox)
        if not token or not identity.isdigit():
            return ""
        try:
            raw, _type = graph_request(
                "GET", graph_url(f"{identity}?fields={self.profile_fields}"), token
            )
            profile = ProfileAnswer.model_validate_json(raw)
        except (SendError, ValidationError) as error:
            logger.info("No %s profile for %s: %s", self.label, identity, error)
            return ""
        full = " ".join(part for part in (profile.first_name, profile.last_name) if part)
        return (full or profile.name or profile.username).strip()

    def send(self, inbox: "Inbox", message: "OutboundMessage") -> "SendResult":
        from inboxes.channels import graph_client

        if message.attachments and not self.sends_files:
            raise SendError(
                f"{self.label} takes files only from a public link, which the hub does not "
                "publish yet. Send the text alone, or share the file another way.",
                retryable=False,
                code="attachment",
            )
        tag = ""
        if message.last_inbound_at is not None and self.reply_window is not None:
            from django.utils import timezone

            age = timezone.now() - message.last_inbound_at
            if age > self.reply_window:
                if not self.human_agent_allowed(inbox) or age > HUMAN_AGENT_WINDOW:
                    raise SendError(
                        f"{self.label} accepts replies only within 24 hours of the customer's "
                        f"last message; {self.reply_window_note(inbox)}.",
                        retryable=False,
                        code="outside_window",
                    )
                tag = "HUMAN_AGENT"
        if not self.sends_metadata:
            message = replace(message, reference="")
        return graph_client.send_messenger(
            graph_client.credential(inbox, self.account_field),
            self.access_token(inbox),
            message,
            tag=tag,
            label=self.label,
            upload_files=self.sends_files,
        )


HUMAN_AGENT_FIELD = CredentialField(
    "human_agent_tag",
    "HUMAN_AGENT tag",
    False,
    "Optional. Type yes once Meta approved the app's Human Agent permission: replies may then "
    "go out up to 7 days after the customer's last message (else 24 hours).",
    required=False,
)


class MessengerAdapter(_SendApiAdapter):
    kind = "facebook"
    label = "Facebook Messenger"
    icon = "channels/icons/facebook.html"
    identity_kind = "psid"
    contact_field = "facebook_id"
    contact_pattern = r"^\d{5,20}$"
    contact_error = "Digits only."
    account_field = "page_id"
    token_field = "page_access_token"
    webhook_object = "page"
    profile_fields = "first_name,last_name"
    is_connected = True
    credential_fields = (
        CredentialField("page_id", "Page ID"),
        CredentialField("page_access_token", "Page access token", True),
        APP_SECRET,
        HUMAN_AGENT_FIELD,
    )


class InstagramAdapter(_SendApiAdapter):
    kind = "instagram"
    label = "Instagram"
    icon = "channels/icons/instagram.html"
    identity_kind = "igsid"
    contact_field = "instagram_handle"
    contact_pattern = r"^@?[A-Za-z0-9._]{1,30}$"
    contact_error = "Letters, digits, dots and underscores, up to 30."
    account_field = "instagram_account_id"
    token_field = "access_token"
    webhook_object = "instagram"
    profile_fields = "name,username"
    sends_files = False
    sends_metadata = False
    is_connected = True
    credential_fields = (
        CredentialField("instagram_account_id", "Instagram account ID"),
        CredentialField("access_token", "Access token", True),
        APP_SECRET,
        HUMAN_AGENT_FIELD,
    )

    def contact_for_identity(self, value: str) -> str:
        """An IGSID is not the customer's handle: no contact detail from it."""
        return ""
