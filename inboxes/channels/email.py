"""Email: an IMAP mailbox polled by UID (deduplicated by Message-ID), replies over SMTP threaded with
In-Reply-To and References. Mail is parsed with Python's email package (policy.default); HTML is
sanitized with nh3 for display and turned into text for previews."""

import contextlib
import hashlib
import hmac
import html
import imaplib
import re
import smtplib
import ssl
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid, parsedate_to_datetime
from typing import TYPE_CHECKING, ClassVar

import nh3
from django.conf import settings

from inboxes.channels.base import (
    ChannelAdapter,
    CredentialsRejected,
    IgnoredDelivery,
    InboundAttachment,
    InboundMessage,
    OutboundMessage,
    ParsedEvent,
    SendError,
    SendResult,
    StatusUpdate,
    UnparseableDelivery,
)
from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.models import Inbox

RFC822 = "message/rfc822"
# how many References an outgoing reply carries (the newest; RFC 5322 asks for the chain)
MAX_REFERENCES = 20
# mail bodies beyond this are stored whole in the delivery but cut for the chat
MAX_TEXT = 200_000
AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress")


MARKER = re.compile(r"\[Ref: HUB-(\d{1,18})-([0-9a-f]{10})\]")


def thread_marker(conversation_id: int) -> str:
    """A line for our outgoing mail naming its conversation, signed (so nobody can steer a mail
    into another conversation by typing a marker)."""
    signature = hmac.new(
        settings.SECRET_KEY.encode(), f"mail-thread:{conversation_id}".encode(), hashlib.sha256
    ).hexdigest()[:10]
    return f"[Ref: HUB-{conversation_id}-{signature}]"


def conversation_of_marker(text: str) -> int | None:
    """The conversation a (quoted) marker of ours in a mail's text names, if its signature holds."""
    for found in MARKER.finditer(text or ""):
        conversation_id = int(found.group(1))
        if hmac.compare_digest(thread_marker(conversation_id), found.group(0)):
            return conversation_id
    return None


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.EMAIL_TLS_CA_FILE:
        context.load_verify_locations(cafile=settings.EMAIL_TLS_CA_FILE)
    return context


def _port(value: object, label: str) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise CredentialsRejected(
            f"The {label} port must be a number between 1 and 65535.",
            field=f"{label.lower()}_port",
        )
    return port


def _message_id(value: str) -> str:
    """A Message-ID without its angle brackets and spaces."""
    return value.strip().strip("<>").strip()


def _ids(header: str) -> list[str]:
    return [_message_id(found) for found in re.findall(r"<[^<>\s]+>", header or "")]


def _addresses(mail: EmailMessage, name: str) -> list[str]:
    try:
        values = mail.get_all(name) or []
        return [address.lower() for _, address in getaddresses([str(v) for v in values]) if address]
    except (TypeError, ValueError, IndexError):
        return []


def _text_of(part: EmailMessage) -> str:
    """A text part's content, decoded by its charset; a wrong or unknown charset is read as
    UTF-8 with replacements rather than lost."""
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AssertionError, KeyError, ValueError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def html_to_text(markup: str) -> str:
    """Readable text of an HTML mail, for previews and search."""
    without_blocks = re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", markup)
    with_breaks = re.sub(r"(?i)<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", "\n", without_blocks)
    text = html.unescape(re.sub(r"<[^>]+>", "", with_breaks))
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def sanitize_html(markup: str) -> str:
    """The mail's HTML as the chat may show it: no scripts, styles, forms or event handlers, and
    every remote image's address moved to `data-remote-src` so nothing is requested until the
    agent asks for it (tracking pixels stay silent)."""
    clean = nh3.clean(
        markup,
        tags={
            "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i",
            "img", "li", "ol", "p", "pre", "span", "strong", "table", "tbody", "td", "th", "thead",
            "tr", "u", "ul",
        },
        attributes={
            "a": {"href", "title"},
            "img": {"src", "data-remote-src", "alt", "width", "height"},
        },
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
    )  # fmt: skip
    return re.sub(r'<img([^>]*?)\ssrc="(https?:[^"]*)"', r'<img\1 data-remote-src="\2"', clean)


def _is_auto_reply(mail: EmailMessage) -> bool:
    auto = str(mail.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(mail.get("Precedence", "")).strip().lower()
    return (
        auto not in ("", "no")
        or any(mail.get(name) is not None for name in AUTO_REPLY_HEADERS)
        or precedence in ("auto_reply", "bulk", "junk")
    )


def _bounce(mail: EmailMessage) -> StatusUpdate | None:
    """A delivery status notification about one of our mails: that mail failed, with the
    server's reason."""
    if mail.get_content_type() != "multipart/report":
        return None
    if str(mail.get_param("report-type", "")).lower() != "delivery-status":
        return None
    reason, original = "", ""
    for part in mail.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for block in part.get_payload():
                for name in ("Diagnostic-Code", "Status", "Action"):
                    if block.get(name) and not reason:
                        reason = str(block.get(name))
                diagnostic = block.get("Diagnostic-Code")
                if diagnostic:
                    reason = str(diagnostic)
        elif content_type in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is None:
                inner = message_from_bytes(part.get_payload(decode=True) or b"")
            original = _message_id(str(inner.get("Message-ID", "")))
    if not original:
        return None
    return StatusUpdate(
        provider_message_id=original,
        status="failed",
        timestamp=datetime.now(UTC),
        error_text=f"The mail bounced: {reason or 'the recipient server refused it.'}"[:2000],
    )


def _kind_of(content_type: str) -> str:
    major = content_type.split("/")[0]
    return major if major in ("image", "audio", "video") else "document"


def _date(mail: EmailMessage) -> datetime:
    try:
        when = parsedate_to_datetime(str(mail.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return datetime.now(UTC)
    if when is None:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_mail(raw: bytes) -> ParsedEvent:
    """One stored mail as an event: the customer's message, or a bounce of one of ours.
    IgnoredDelivery for auto-replies; UnparseableDelivery when it has no sender at all."""
    try:
        mail = message_from_bytes(raw, policy=policy.default)
        bounce = _bounce(mail)
    except Exception as error:  # noqa: BLE001 - hostile MIME must not stop the poller
        raise UnparseableDelivery(f"The mail could not be read: {error}") from error
    if bounce is not None:
        return bounce
    senders = _addresses(mail, "From")
    if not senders:
        raise UnparseableDelivery("The mail has no From address, so no customer can be found.")
    if _is_auto_reply(mail):
        raise IgnoredDelivery(f"An automatic reply from {senders[0]}: not a new conversation.")
    plain, markup, attachments = "", "", []
    for part in mail.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        if disposition != "attachment" and content_type == "text/plain" and not plain:
            plain = _text_of(part)
        elif disposition != "attachment" and content_type == "text/html" and not markup:
            markup = _text_of(part)
        elif disposition in ("attachment", "inline") or not content_type.startswith("text/"):
            content = part.get_payload(decode=True) or b""
            if len(content) > settings.MEDIA_MAX_BYTES:
                content = b""
            attachments.append(
                InboundAttachment(
                    kind=_kind_of(content_type),
                    mime_type=content_type,
                    filename=(part.get_filename() or "")[:255],
                    content=content,
                    content_id=_message_id(str(part.get("Content-ID", ""))),
                )
            )
    text = (plain or html_to_text(markup)).strip()[:MAX_TEXT]
    message_id = _message_id(str(mail.get("Message-ID", "")))
    if not message_id:
        # no Message-ID: the mail's own bytes identify it, so a second fetch is still one message
        message_id = "sha256-" + hashlib.sha256(raw).hexdigest()
    sender_name = ""
    try:
        from_header = mail["From"]
        sender_name = from_header.addresses[0].display_name if from_header.addresses else ""
    except (AttributeError, IndexError, TypeError):
        pass
    in_reply_to = _ids(str(mail.get("In-Reply-To", "")))
    return InboundMessage(
        provider_message_id=message_id[:255],
        sender=senders[0],
        sender_name=sender_name[:200],
        timestamp=_date(mail),
        text=text or ("(no text)" if not attachments else ""),
        subject=str(mail.get("Subject", ""))[:255],
        reply_to_provider_id=in_reply_to[0] if in_reply_to else "",
        attachments=tuple(attachments),
        payload={
            "to": _addresses(mail, "To"),
            "cc": _addresses(mail, "Cc"),
            "references": _ids(str(mail.get("References", "")))[-MAX_REFERENCES:],
            "html": sanitize_html(markup)[:MAX_TEXT] if markup else "",
            "files": len(attachments),
            "thread": conversation_of_marker(plain or html_to_text(markup)),
        },
    )


class EmailAdapter(ChannelAdapter):
    kind = "email"
    label = "Email"
    icon = "channels/icons/email.html"
    identity_kind = "email"
    is_connected: ClassVar[bool] = True
    threads_by_reference: ClassVar[bool] = True
    contact_field = "email"
    credential_fields = (
        CredentialField("email_address", "Email address"),
        CredentialField("imap_host", "IMAP server"),
        CredentialField("imap_port", "IMAP port", help_text="993 (TLS) or 143 (STARTTLS)."),
        CredentialField("imap_username", "IMAP user name"),
        CredentialField("imap_password", "IMAP password", True),
        CredentialField("smtp_host", "SMTP server"),
        CredentialField("smtp_port", "SMTP port", help_text="465 (TLS) or 587 (STARTTLS)."),
        CredentialField("smtp_username", "SMTP user name"),
        CredentialField("smtp_password", "SMTP password", True),
    )

    def normalize_identity(self, value: str) -> str:
        return value.strip().lower()

    # --- IMAP in
    def open_mailbox(self, inbox: "Inbox") -> imaplib.IMAP4:
        """A logged-in IMAP connection: implicit TLS on 993, else STARTTLS when offered."""
        credentials = inbox.credentials
        host = credentials.get("imap_host", "")
        port = _port(credentials.get("imap_port"), "IMAP")
        timeout = settings.PROVIDER_TIMEOUT_SECONDS
        try:
            if port == 993 or credentials.get("imap_security") == "tls":
                imap = imaplib.IMAP4_SSL(host, port, ssl_context=_tls_context(), timeout=timeout)
            else:
                imap = imaplib.IMAP4(host, port, timeout=timeout)
                if "STARTTLS" in imap.capabilities:
                    imap.starttls(ssl_context=_tls_context())
            imap.login(credentials.get("imap_username", ""), credentials.get("imap_password", ""))
        except imaplib.IMAP4.error as refused:
            raise CredentialsRejected(
                f"The IMAP server refused the sign-in: {refused}"
            ) from refused
        except (OSError, ssl.SSLError) as unreachable:
            raise SendError(f"Cannot reach the IMAP server {host}:{port}: {unreachable}") from None
        return imap

    def fetch_new(
        self, inbox: "Inbox", *, state: dict, limit: int
    ) -> tuple[list[tuple[int, bytes]], dict]:
        """Mails after the last UID seen (all of them again when UIDVALIDITY changed), oldest first,
        at most `limit`; returns them with the mailbox state to store once they are stored."""
        imap = self.open_mailbox(inbox)
        try:
            status, data = imap.select("INBOX")
            if status != "OK":
                raise SendError(f"The IMAP server would not open INBOX: {data}")
            validity_answer = imap.response("UIDVALIDITY")[1]
            validity = int(validity_answer[0]) if validity_answer and validity_answer[0] else 0
            last_uid = state.get("last_uid", 0) if state.get("uidvalidity") == validity else 0
            status, data = imap.uid("SEARCH", None, f"UID {last_uid + 1}:*")
            uids = sorted(int(uid) for uid in (data[0] or b"").split() if int(uid) > last_uid)
            mails = []
            for uid in uids[:limit]:
                status, fetched = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
                raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
                if status == "OK" and raw is not None:
                    mails.append((uid, raw))
            return mails, {"uidvalidity": validity, "last_uid": last_uid}
        except (OSError, imaplib.IMAP4.abort) as dropped:
            raise SendError(f"The IMAP connection dropped: {dropped}") from None
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                imap.logout()

    def mark_fetched(self, inbox: "Inbox", uids: list[int]) -> None:
        """Mark stored mails seen, or move them to EMAIL_MOVE_TO_FOLDER when that is set."""
        if not uids:
            return
        imap = self.open_mailbox(inbox)
        try:
            imap.select("INBOX")
            uid_set = ",".join(str(uid) for uid in uids)
            folder = settings.EMAIL_MOVE_TO_FOLDER
            if folder:
                imap.create(folder)
                imap.uid("MOVE", uid_set, folder)
            else:
                imap.uid("STORE", uid_set, "+FLAGS", "(\\Seen)")
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                imap.logout()

    def parse(self, inbox: "Inbox", body: bytes, content_type: str) -> list[ParsedEvent]:
        return [parse_mail(body)]

    def download_media(self, inbox: "Inbox", attachment: InboundAttachment) -> tuple[bytes, str]:
        if attachment.content:
            return attachment.content, attachment.mime_type
        raise SendError(
            "The attachment is larger than the size limit, so it was not kept.", retryable=False
        )

    # --- SMTP out
    def _smtp(self, inbox: "Inbox") -> smtplib.SMTP:
        credentials = inbox.credentials
        host = credentials.get("smtp_host", "")
        port = _port(credentials.get("smtp_port"), "SMTP")
        timeout = settings.PROVIDER_TIMEOUT_SECONDS
        if port == 465 or credentials.get("smtp_security") == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=_tls_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=_tls_context())
                smtp.ehlo()
        if credentials.get("smtp_username") and smtp.has_extn("auth"):
            smtp.login(credentials["smtp_username"], credentials.get("smtp_password", ""))
        return smtp

    def compose(self, inbox: "Inbox", message: OutboundMessage) -> EmailMessage:
        address = inbox.credentials.get("email_address", "")
        mail = EmailMessage()
        mail["From"] = Address(inbox.name, addr_spec=address) if address else inbox.name
        mail["To"] = message.recipient
        if message.cc:
            mail["Cc"] = ", ".join(message.cc)
        subject = message.subject or "Your message"
        if message.references and not subject.lower().startswith("re:"):
            subject = f"Re: {subject}"
        mail["Subject"] = subject
        domain = address.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = make_msgid(domain=domain)
        if message.references:
            mail["In-Reply-To"] = f"<{message.references[-1]}>"
            mail["References"] = " ".join(
                f"<{ref}>" for ref in message.references[-MAX_REFERENCES:]
            )
        body = (
            f"{message.text}\n\n{message.thread_marker}" if message.thread_marker else message.text
        )
        mail.set_content(body)
        for attachment in message.attachments:
            major, _, minor = attachment.mime_type.partition("/")
            mail.add_attachment(
                attachment.content,
                maintype=major or "application",
                subtype=minor or "octet-stream",
                filename=attachment.filename,
            )
        return mail

    def send(self, inbox: "Inbox", message: OutboundMessage) -> SendResult:
        mail = self.compose(inbox, message)
        try:
            smtp = self._smtp(inbox)
            try:
                smtp.send_message(mail)
            finally:
                with contextlib.suppress(smtplib.SMTPException):
                    smtp.quit()
        except CredentialsRejected as refused:
            raise SendError(str(refused), retryable=False) from None
        except smtplib.SMTPAuthenticationError as refused:
            raise SendError(
                f"The SMTP server refused the sign-in: {refused.smtp_error!r}",
                retryable=False,
                code=str(refused.smtp_code),
            ) from None
        except smtplib.SMTPRecipientsRefused as refused:
            code, reason = next(iter(refused.recipients.values()), (0, b""))
            raise SendError(
                f"The SMTP server refused the recipient: {reason.decode(errors='replace')}",
                retryable=code < 500,
                code=str(code),
            ) from None
        except smtplib.SMTPResponseException as refused:
            raise SendError(
                f"The SMTP server answered {refused.smtp_code}: "
                f"{refused.smtp_error.decode(errors='replace')}",
                retryable=refused.smtp_code < 500,
                code=str(refused.smtp_code),
            ) from None
        except (TimeoutError, OSError, smtplib.SMTPException) as unreachable:
            raise SendError(f"Cannot reach the SMTP server: {unreachable}") from None
        return SendResult(provider_message_id=_message_id(mail["Message-ID"]))

    def check_credentials(self, inbox: "Inbox") -> None:
        """IMAP sign-in and SMTP handshake (with sign-in when the server offers AUTH):
        CredentialsRejected when a server refuses them; SendError when one cannot be reached now
        (the inbox is saved, unchecked, and says so)."""
        imap = self.open_mailbox(inbox)
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            imap.logout()
        try:
            smtp = self._smtp(inbox)
            smtp.quit()
        except smtplib.SMTPAuthenticationError as refused:
            raise CredentialsRejected(
                f"The SMTP server refused the sign-in ({refused.smtp_code}).",
                field="smtp_password",
            ) from None
        except (OSError, smtplib.SMTPException, ssl.SSLError) as unreachable:
            raise SendError(f"Cannot reach the SMTP server: {unreachable}") from None
