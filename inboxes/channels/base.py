"""The one interface every channel adapter implements, and the typed events it parses a
provider's delivery into. Nothing outside `inboxes/channels/` knows a provider's wire format."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, ClassVar, Literal

from django.http import HttpRequest, HttpResponse
from pydantic import BaseModel, ConfigDict

from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.models import Inbox


# --- events parsed from a provider's delivery ------------------------------------------------


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # the provider account the event names (WhatsApp phone_number_id, page id, ...): an event
    # naming another account than the inbox's changes nothing and is recorded with the reason
    account_id: str = ""


class InboundAttachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str  # a Message.Kind: image, audio, voice, video, document, sticker
    provider_media_id: str = ""
    url: str = ""  # for providers that send a download URL instead of a media id
    mime_type: str = ""
    filename: str = ""
    caption: str = ""
    # pushed channels (email) carry the file in the delivery itself
    content: bytes = b""
    content_id: str = ""  # an inline image's Content-ID (cid: links in the mail's HTML)


class InboundMessage(Event):
    event: Literal["message"] = "message"
    provider_message_id: str
    sender: str  # the identity value, as the provider sends it (normalized by the adapter)
    sender_name: str = ""
    timestamp: datetime
    kind: str = "text"  # a Message.Kind
    text: str = ""  # what the chat shows: the text, a caption, or a readable placeholder
    attachments: tuple[InboundAttachment, ...] = ()
    payload: dict = {}  # typed details: location, contacts, button reply, reaction, unknown type
    reply_to_provider_id: str = ""
    subject: str = ""  # email
    # sent by the business from outside the hub (Messenger's echo of a reply written in Meta's
    # own inbox): stored as an agent message with no author, already sent
    from_business: bool = False


class StatusUpdate(Event):
    event: Literal["status"] = "status"
    provider_message_id: str
    status: Literal["sent", "delivered", "read", "failed"]
    timestamp: datetime
    error_code: str = ""
    error_text: str = ""


class StatusWatermark(Event):
    """Every agent message to `recipient` sent at or before `watermark` reached `status`
    (Messenger's delivery and read watermarks)."""

    event: Literal["watermark"] = "watermark"
    recipient: str  # the customer's identity value
    status: Literal["delivered", "read"]
    watermark: datetime


class MessageRemoved(Event):
    """The customer unsent (deleted) one of their messages (Instagram)."""

    event: Literal["removed"] = "removed"
    provider_message_id: str
    sender: str
    timestamp: datetime


ParsedEvent = InboundMessage | StatusUpdate | StatusWatermark | MessageRemoved


class UnparseableDelivery(Exception):
    """The delivery is not what the provider's format promises: kept as a dead letter with this
    reason, to be reprocessed after a fix."""


class IgnoredDelivery(Exception):
    """A genuine delivery that asks nothing of the hub (an auto-reply, a vacation notice): kept
    as `ignored` with this reason, no conversation opened."""


class WebhookRefused(Exception):
    """A request that is not the provider's (bad or missing signature): answered `status`,
    nothing stored."""

    def __init__(self, reason: str, *, status: int = 403) -> None:
        super().__init__(reason)
        self.status = status


# --- outbound ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundAttachment:
    kind: str  # image, document, audio, video
    filename: str
    mime_type: str
    content: bytes


@dataclass(frozen=True)
class OutboundMessage:
    recipient: str  # the customer's identity value for this channel
    text: str = ""
    attachments: tuple[OutboundAttachment, ...] = ()
    reply_to_provider_id: str = ""
    subject: str = ""
    # the provider ids of the conversation's messages, oldest first (email threading:
    # In-Reply-To and References)
    references: tuple[str, ...] = field(default=())
    cc: tuple[str, ...] = ()
    # when the customer last wrote through this inbox (channels with a reply window pick the
    # kind of send by it); None when they never did
    last_inbound_at: datetime | None = None
    # the hub's own reference of the message (Messenger echoes it back as metadata)
    reference: str = ""
    # the conversation's thread marker, written into an email's body so a reply whose mail
    # client dropped In-Reply-To and References still finds its conversation
    thread_marker: str = ""


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class SendError(Exception):
    """The provider refused or could not be reached. `retryable` (timeouts, 5xx, rate limits)
    says whether to try again; `code` is the provider's error code, shown with the reason."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool = True,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.code = code
        self.retry_after = retry_after


class CredentialsRejected(Exception):
    """Saving an inbox's credentials: the provider said they do not work (the message says why;
    `field` names the credential at fault, when the provider's answer tells)."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


# --- the adapter -------------------------------------------------------------------------------


class ChannelAdapter:
    """Everything one channel kind needs. Subclasses set the class attributes and override what
    their provider supports; the rest of the code calls `adapter_for(inbox)` and nothing else."""

    kind: ClassVar[str]
    label: ClassVar[str]
    # the icon template under templates/channels/icons/ (an inline SVG)
    icon: ClassVar[str]
    credential_fields: ClassVar[tuple[CredentialField, ...]] = ()
    # CustomerIdentity.Kind this channel addresses customers by, and whether the id is scoped
    # to one inbox (Messenger PSIDs, Instagram IGSIDs)
    identity_kind: ClassVar[str]
    identity_is_inbox_scoped: ClassVar[bool] = False
    # the customer's editable contact detail for this channel (a Customer column), how it is
    # checked in forms, and an example for the error message
    contact_field: ClassVar[str]
    contact_pattern: ClassVar[str] = ""
    contact_error: ClassVar[str] = ""
    # Meta's GET hub.verify_token handshake
    uses_verify_token: ClassVar[bool] = False
    # how long after the customer's last message a free-text reply may go out (WhatsApp: 24 h)
    reply_window: ClassVar[timedelta | None] = None
    # whether an agent's file can go out on this channel (Instagram takes files only by a public
    # link): when not, a reply with a file is refused before it is stored
    sends_files: ClassVar[bool] = True
    # whether this channel can deliver messages today (False: replies fail with a clear reason)
    is_connected: ClassVar[bool] = False
    # whether a message joins the conversation of the message it answers (email: In-Reply-To,
    # References; a new subject is a new conversation) instead of the customer's open one
    threads_by_reference: ClassVar[bool] = False

    def allowed_reply_window(self, inbox: "Inbox") -> timedelta | None:
        """The reply window of this inbox: `reply_window`, longer where the inbox may use an
        extension (Messenger's HUMAN_AGENT tag: 7 days); None for no window."""
        return self.reply_window

    def reply_window_note(self, inbox: "Inbox") -> str:
        """What the refusal outside the window adds about how to reach the customer later."""
        return "template messages are not supported yet"

    def customer_name(self, inbox: "Inbox", identity: str) -> str:
        """The name of a customer met for the first time, from the provider's profile API
        ("" when the channel has none, or it did not answer)."""
        return ""

    def normalize_identity(self, value: str) -> str:
        return value.strip()

    def contact_for_identity(self, value: str) -> str:
        """The contact detail a customer first met through this identity gets (its column)."""
        return value

    def identity_for_contact(self, value: str) -> str:
        """The identity a saved contact detail stands for, or "" when the contact column does not
        address the customer on its own (page-scoped ids need the page's inbox)."""
        return "" if self.identity_is_inbox_scoped else self.normalize_identity(value)

    def account_id(self, inbox: "Inbox") -> str:
        """The provider account the inbox is (events naming another one change nothing); ""
        for channels whose deliveries do not name one."""
        return ""

    def handshake(self, inbox: "Inbox", request: HttpRequest) -> HttpResponse:
        """Answer a provider's GET (subscription check); 405 for channels without one."""
        return HttpResponse("This address only accepts the provider's POST.", status=405)

    def verify(self, inbox: "Inbox", request: HttpRequest, body: bytes) -> None:
        """Raise WebhookRefused unless the request is the provider's (its signature of `body`,
        the raw request body the view read within WEBHOOK_MAX_BYTES)."""
        raise WebhookRefused("This channel does not receive webhooks yet.", status=404)

    def parse(self, inbox: "Inbox", body: bytes, content_type: str) -> list[ParsedEvent]:
        """A stored delivery's events; UnparseableDelivery when it is not the provider's format."""
        raise UnparseableDelivery(f"{self.label} deliveries cannot be read yet.")

    def acknowledge(self, inbox: "Inbox", request: HttpRequest, body: bytes) -> HttpResponse:
        """The answer to a stored delivery (Twilio wants TwiML, which may depend on the
        delivery: a call hears a greeting; Meta any 200)."""
        return HttpResponse("OK", content_type="text/plain")

    def send(self, inbox: "Inbox", message: OutboundMessage) -> SendResult:
        raise SendError(
            f"No {self.label} connection can send messages yet. Connect this inbox's channel, "
            "then retry.",
            retryable=False,
        )

    def download_media(self, inbox: "Inbox", attachment: InboundAttachment) -> tuple[bytes, str]:
        """The file's bytes and MIME type (SendError when the provider cannot give it now)."""
        raise SendError(f"{self.label} media cannot be downloaded yet.", retryable=False)

    def fetch(self, inbox: "Inbox") -> list[bytes]:
        """Pull channels (IMAP): new raw deliveries to store and process like webhooks."""
        return []

    def check_credentials(self, inbox: "Inbox") -> None:
        """Raise CredentialsRejected when the provider says these credentials do not work."""
