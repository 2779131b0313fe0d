"""Phone through Twilio: SMS and MMS in and out (the Messages API, status callbacks), calls answered
with a voicemail greeting, voicemails and missed calls as messages. Every webhook is checked with
Twilio's X-Twilio-Signature (the `twilio` package's validator) over the public URL it was sent to."""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from inboxes.channels.base import (
    ChannelAdapter,
    CredentialsRejected,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    ParsedEvent,
    SendError,
    SendResult,
    StatusUpdate,
    UnparseableDelivery,
    WebhookRefused,
)
from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.models import Inbox

FORM = "application/x-www-form-urlencoded"
# Twilio's message statuses, as the hub's forward-only delivery statuses
STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read"}
FAILED = {"undelivered", "failed"}
MISSED = {"no-answer", "busy", "failed", "canceled"}
# Twilio error codes no retry fixes, in words an agent understands
PERMANENT = {
    20003: "Twilio refused the account SID or auth token; an admin must fix the inbox.",
    21211: "This phone number is not valid. Check the customer's number.",
    21408: "Sending to this country is not enabled on the Twilio account.",
    21610: "The customer replied STOP: they unsubscribed, and Twilio will not deliver until "
    "they send START.",
    21614: "This number cannot receive SMS (it is not a mobile number).",
    21606: "The inbox's number cannot send SMS; check it in the Twilio console.",
}
OPT_OUT = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit"}
OPT_IN = {"start", "yes", "unstop"}


def twilio_url(path: str) -> str:
    return f"{settings.TWILIO_API_BASE_URL.rstrip('/')}/{path.lstrip('/')}"


def public_webhook_url(inbox: "Inbox") -> str:
    """The inbox's webhook address as Twilio calls it (PUBLIC_BASE_URL: the signature covers it)."""
    path = reverse("inboxes:webhook", args=[inbox.kind, inbox.public_key])
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnparseableDelivery("Twilio sends UTF-8 form fields; this body is not.") from error
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


def _duration(seconds: str) -> str:
    value = int(seconds) if seconds.isdigit() else 0
    return f"{value // 60}:{value % 60:02d}"


def _sms(inbox: "Inbox", form: dict[str, str]) -> InboundMessage:
    media = int(form.get("NumMedia") or 0) if (form.get("NumMedia") or "0").isdigit() else 0
    attachments = tuple(
        InboundAttachment(
            kind=(form.get(f"MediaContentType{i}", "").split("/")[0] or "document")
            if form.get(f"MediaContentType{i}", "").split("/")[0] in ("image", "audio", "video")
            else "document",
            url=form.get(f"MediaUrl{i}", ""),
            mime_type=form.get(f"MediaContentType{i}", ""),
        )
        for i in range(min(media, 10))
        if form.get(f"MediaUrl{i}")
    )
    text = form.get("Body", "")
    keyword = text.strip().lower()
    payload: dict = {}
    if keyword in OPT_OUT:
        payload["opt_out"] = True
    elif keyword in OPT_IN:
        payload["opt_in"] = True
    kind = attachments[0].kind if attachments and not text else "text"
    return InboundMessage(
        account_id=form.get("AccountSid", ""),
        provider_message_id=form.get("MessageSid") or form.get("SmsMessageSid", ""),
        sender=form.get("From", ""),
        timestamp=datetime.now(UTC),
        kind=kind,
        text=text or ("" if attachments else "(empty message)"),
        attachments=attachments,
        payload=payload,
    )


def parse_twilio(inbox: "Inbox", body: bytes) -> list[ParsedEvent]:
    """A Twilio webhook's event: an SMS/MMS, a message status, a voicemail, a transcription, a
    missed call; an incoming call itself is answered by `acknowledge` and is no event."""
    form = _form(body)
    account = form.get("AccountSid", "")
    now = datetime.now(UTC)
    if "MessageStatus" in form and "Body" not in form:
        status = form["MessageStatus"]
        if status not in STATUSES and status not in FAILED:
            return []  # queued, sending, accepted: nothing to show yet
        code = form.get("ErrorCode", "")
        return [
            StatusUpdate(
                account_id=account,
                provider_message_id=form.get("MessageSid", ""),
                status=STATUSES.get(status, "failed"),
                timestamp=now,
                error_code=code,
                error_text=(
                    f"Twilio could not deliver it ({status}"
                    + (f", error {code}" if code else "")
                    + ")."
                )
                if status in FAILED
                else "",
            )
        ]
    if "MessageSid" in form or "SmsMessageSid" in form:
        if not form.get("From"):
            raise UnparseableDelivery("The message names no sender (From).")
        return [_sms(inbox, form)]
    if "TranscriptionText" in form:
        return [
            InboundMessage(
                account_id=account,
                provider_message_id=f"{form.get('RecordingSid', '')}-transcript",
                sender=form.get("From", ""),
                timestamp=now,
                text=f"Voicemail transcript: {form['TranscriptionText']}",
                reply_to_provider_id=form.get("RecordingSid", ""),
                payload={"voicemail_transcript": True},
            )
        ]
    if "CallSid" in form:
        if not form.get("From"):
            raise UnparseableDelivery("The call names no caller (From).")
        if form.get("RecordingUrl") and form.get("RecordingDuration", "0") not in ("", "0"):
            return [
                InboundMessage(
                    account_id=account,
                    provider_message_id=form.get("RecordingSid") or form["CallSid"],
                    sender=form["From"],
                    timestamp=now,
                    kind="voice",
                    text=f"Voicemail ({_duration(form.get('RecordingDuration', '0'))})",
                    attachments=(
                        InboundAttachment(
                            kind="voice", url=form["RecordingUrl"] + ".mp3", mime_type="audio/mpeg"
                        ),
                    ),
                    payload={"call": "voicemail", "duration": form.get("RecordingDuration")},
                )
            ]
        status = form.get("CallStatus", "")
        if status in MISSED or "RecordingUrl" in form:
            return [
                InboundMessage(
                    account_id=account,
                    provider_message_id=f"{form['CallSid']}-missed",
                    sender=form["From"],
                    timestamp=now,
                    text="Missed call",
                    payload={"call": "missed", "status": status},
                )
            ]
        return []
    raise UnparseableDelivery("Not a Twilio webhook: no MessageSid, CallSid or MessageStatus.")


class PhoneAdapter(ChannelAdapter):
    kind = "phone"
    label = "Phone / SMS"
    icon = "channels/icons/phone.html"
    identity_kind = "phone"
    contact_field = "phone"
    contact_pattern = r"^\+[1-9]\d{6,14}$"
    contact_error = "Use the international format, e.g. +14155550100."
    is_connected: ClassVar[bool] = True
    credential_fields = (
        CredentialField("account_sid", "Twilio account SID"),
        CredentialField(
            "phone_number", "Phone number", help_text="International format, e.g. +14155550100."
        ),
        CredentialField(
            "auth_token", "Auth token", True, "Checks the X-Twilio-Signature of every webhook."
        ),
    )

    def normalize_identity(self, value: str) -> str:
        """E.164: + and digits."""
        digits = "".join(ch for ch in value if ch.isdigit())
        return f"+{digits}" if digits else ""

    def account_id(self, inbox: "Inbox") -> str:
        return inbox.credentials.get("account_sid", "")

    def verify(self, inbox: "Inbox", request: HttpRequest, body: bytes) -> None:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise WebhookRefused("Missing X-Twilio-Signature.")
        if not request.content_type.startswith(FORM):
            raise WebhookRefused("Twilio posts form fields.", status=415)
        token = inbox.credentials.get("auth_token", "")
        validator = RequestValidator(token)
        # the URL Twilio called: the configured public address, or the one this request reached
        urls = {
            f"{settings.PUBLIC_BASE_URL.rstrip('/')}{request.get_full_path()}",
            request.build_absolute_uri(),
        }
        try:
            params = _form(body)
        except UnparseableDelivery as error:
            raise WebhookRefused(str(error), status=400) from error
        if not token or not any(validator.validate(url, params, signature) for url in urls):
            raise WebhookRefused("The X-Twilio-Signature does not match this request.")

    def parse(self, inbox: "Inbox", body: bytes, content_type: str) -> list[ParsedEvent]:
        return parse_twilio(inbox, body)

    def acknowledge(self, inbox: "Inbox", request: HttpRequest, body: bytes) -> HttpResponse:
        """TwiML: an incoming call hears the inbox's greeting and may leave a voicemail; a
        finished recording is thanked; messages get an empty response (no auto-reply)."""
        form = _form(body)
        if "CallSid" in form and "RecordingUrl" not in form and "TranscriptionText" not in form:
            if form.get("CallStatus") in MISSED or form.get("CallStatus") == "completed":
                return HttpResponse(str(VoiceResponse()), content_type="text/xml")
            voice = VoiceResponse()
            greeting = inbox.credentials.get("voicemail_greeting") or (
                "Thanks for calling. Please leave a message after the tone, and we will get back "
                "to you."
            )
            voice.say(greeting)
            url = public_webhook_url(inbox)
            voice.record(
                max_length=settings.VOICEMAIL_MAX_SECONDS,
                action=url,
                transcribe=True,
                transcribe_callback=url,
                play_beep=True,
            )
            return HttpResponse(str(voice), content_type="text/xml")
        if "RecordingUrl" in form and "TranscriptionText" not in form:
            voice = VoiceResponse()
            voice.say("Thank you. Goodbye.")
            voice.hangup()
            return HttpResponse(str(voice), content_type="text/xml")
        return HttpResponse(str(MessagingResponse()), content_type="text/xml")

    # --- the REST API
    def _call(self, inbox: "Inbox", method: str, url: str, data: dict | None = None) -> bytes:
        sid = inbox.credentials.get("account_sid", "")
        token = inbox.credentials.get("auth_token", "")
        encoded = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=encoded, method=method)  # noqa: S310
        request.add_header(
            "Authorization", "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
        )
        if encoded is not None:
            request.add_header("Content-Type", FORM)
        try:
            with urllib.request.urlopen(  # noqa: S310 - the API base URL is a setting
                request, timeout=settings.PROVIDER_TIMEOUT_SECONDS
            ) as response:
                return response.read(settings.MEDIA_MAX_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise _twilio_error(
                error.code, error.read(), error.headers.get("Retry-After")
            ) from None
        except TimeoutError:
            raise SendError("Twilio did not answer in time.", code="timeout") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SendError(f"Twilio could not be reached: {reason}.", code="unreachable") from None

    def send(self, inbox: "Inbox", message: OutboundMessage) -> SendResult:
        if message.attachments:
            raise SendError(
                "Files cannot be sent by SMS from the hub yet; send the text alone.",
                retryable=False,
                code="media",
            )
        sid = inbox.credentials.get("account_sid", "")
        answer = self._call(
            inbox,
            "POST",
            twilio_url(f"2010-04-01/Accounts/{sid}/Messages.json"),
            {
                "To": message.recipient,
                "From": inbox.credentials.get("phone_number", ""),
                "Body": message.text,
                "StatusCallback": public_webhook_url(inbox),
            },
        )
        try:
            return SendResult(provider_message_id=json.loads(answer)["sid"])
        except (ValueError, KeyError, TypeError):
            raise SendError("Twilio's answer had no message SID.", code="bad_answer") from None

    def download_media(self, inbox: "Inbox", attachment: InboundAttachment) -> tuple[bytes, str]:
        content = self._call(inbox, "GET", attachment.url)
        if len(content) > settings.MEDIA_MAX_BYTES:
            raise SendError("The file is over the size limit (MEDIA_MAX_BYTES).", retryable=False)
        return content, attachment.mime_type or "application/octet-stream"

    def check_credentials(self, inbox: "Inbox") -> None:
        sid = inbox.credentials.get("account_sid", "")
        try:
            self._call(inbox, "GET", twilio_url(f"2010-04-01/Accounts/{sid}.json"))
        except SendError as error:
            if error.code == "20003" or not error.retryable:
                raise CredentialsRejected(
                    f"Twilio refused these credentials: {error}", field="auth_token"
                ) from None
            raise


def _twilio_error(status: int, body: bytes, retry_after: str | None) -> SendError:
    try:
        details = json.loads(body)
        code = int(details.get("code") or 0)
        text = str(details.get("message") or "")
    except (ValueError, TypeError, AttributeError):
        code, text = 0, body[:200].decode(errors="replace")
    if code in PERMANENT:
        return SendError(PERMANENT[code], retryable=False, code=str(code))
    retryable = status == 429 or status >= 500 or code == 20429
    delay = float(retry_after) if retry_after and retry_after.isdigit() else None
    return SendError(
        f"Twilio answered {status}: {text or 'an error'}" + (f" (error {code})" if code else ""),
        retryable=retryable,
        code=str(code or status),
        retry_after=delay,
    )
