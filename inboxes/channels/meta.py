"""What WhatsApp, Messenger and Instagram share: Meta's webhook signing (X-Hub-Signature-256), the
GET hub.verify_token handshake, and the Graph API client (base URL, token, timeouts, errors)."""

import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from inboxes.channels.base import ChannelAdapter, CredentialsRejected, SendError, WebhookRefused
from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.models import Inbox

APP_SECRET = CredentialField(
    "app_secret", "App secret", True, "Checks the X-Hub-Signature-256 of every webhook."
)
SIGNATURE_HEADER = "HTTP_X_HUB_SIGNATURE_256"
DOWNLOAD_CHUNK = 64 * 1024


def graph_url(path: str) -> str:
    """A Graph API URL: GRAPH_API_BASE_URL (a local server in tests and the demo) and version."""
    base = settings.GRAPH_API_BASE_URL.rstrip("/")
    return f"{base}/{settings.GRAPH_API_VERSION}/{path.lstrip('/')}"


def credential(inbox: "Inbox", name: str) -> str:
    """One stored credential of the inbox (the one place adapters read them)."""
    return str((inbox.credentials or {}).get(name) or "")


def signature_of(body: bytes, app_secret: str) -> str:
    """Meta's X-Hub-Signature-256 header value for a body."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _graph_error(status: int, raw: bytes) -> SendError:
    """A Graph error answer as a SendError: 5xx, 429 and Graph's throttling codes are worth
    retrying; the rest (bad token, bad parameter, unknown media) are not."""
    code, text = "", ""
    try:
        error = json.loads(raw or b"{}").get("error") or {}
        code = str(error.get("code") or "")
        text = str(error.get("message") or "")
    except (ValueError, AttributeError):
        pass
    retryable = status >= 500 or status == 429 or code in {"4", "80007", "130429", "131048"}
    return SendError(
        f"Meta answered {status}: {text or 'no reason given'}", retryable=retryable, code=code
    )


def graph_request(
    method: str,
    url: str,
    token: str,
    *,
    body: bytes | None = None,
    content_type: str = "application/json",
    max_bytes: int | None = None,
) -> tuple[bytes, str]:
    """One Graph API call with the inbox's token and PROVIDER_TIMEOUT_SECONDS: the answer's bytes
    and content type. SendError on a timeout, a refused connection or an error answer; an answer
    larger than `max_bytes` is not read past the limit."""
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - http(s) only
    request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(  # noqa: S310 - the Graph base URL is a setting
            request, timeout=settings.PROVIDER_TIMEOUT_SECONDS
        ) as response:
            answer_type = response.headers.get("Content-Type", "")
            if max_bytes is None:
                return response.read(), answer_type
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise SendError(_too_large(int(declared), max_bytes), retryable=False)
            chunks, size = [], 0
            while chunk := response.read(DOWNLOAD_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise SendError(_too_large(size, max_bytes, at_least=True), retryable=False)
                chunks.append(chunk)
            return b"".join(chunks), answer_type
    except urllib.error.HTTPError as error:
        raise _graph_error(error.code, error.read()) from error
    except TimeoutError as error:
        raise SendError("Meta did not answer in time.", code="timeout") from error
    except (urllib.error.URLError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SendError(f"Meta could not be reached: {reason}.", code="unreachable") from error


def _too_large(size: int, limit: int, *, at_least: bool = False) -> str:
    more = "more than " if at_least else ""
    return (
        f"The file is {more}{size / 1_048_576:.1f} MB, over the {limit / 1_048_576:.1f} MB "
        "limit (MEDIA_MAX_BYTES); it was not downloaded."
    )


class MetaAdapter(ChannelAdapter):
    uses_verify_token: ClassVar[bool] = True
    # the credential naming the provider account (phone number id, page id, Instagram account
    # id) and the one holding the Graph access token
    account_field: ClassVar[str]
    token_field: ClassVar[str]

    def handshake(self, inbox: "Inbox", request: HttpRequest) -> HttpResponse:
        """Meta's subscription check: echo hub.challenge when hub.verify_token is the inbox's."""
        mode = request.GET.get("hub.mode", "")
        token = request.GET.get("hub.verify_token", "")
        challenge = request.GET.get("hub.challenge", "")
        if (
            mode == "subscribe"
            and inbox.verify_token
            and hmac.compare_digest(token.encode(), inbox.verify_token.encode())
        ):
            return HttpResponse(challenge, content_type="text/plain")
        return HttpResponse(
            "The verify token does not match this inbox's.", status=403, content_type="text/plain"
        )

    def verify(self, inbox: "Inbox", request: HttpRequest, body: bytes) -> None:
        """X-Hub-Signature-256: HMAC-SHA256 of the raw body with the app secret, compared in
        constant time."""
        secret = credential(inbox, "app_secret")
        header = request.META.get(SIGNATURE_HEADER, "")
        if not header:
            raise WebhookRefused("The X-Hub-Signature-256 header is missing.")
        if not secret:
            raise WebhookRefused("This inbox has no app secret to check signatures with.")
        expected = signature_of(body, secret)
        if not hmac.compare_digest(header.strip().encode(), expected.encode()):
            raise WebhookRefused("The X-Hub-Signature-256 does not match the body.")

    def account_id(self, inbox: "Inbox") -> str:
        return credential(inbox, self.account_field)

    def access_token(self, inbox: "Inbox") -> str:
        return credential(inbox, self.token_field)

    def check_credentials(self, inbox: "Inbox") -> None:
        """Ask the Graph API for the inbox's account with its token: a refused token or an
        account the token cannot see is CredentialsRejected (saying which); a provider that
        cannot answer now is SendError (the credentials stay unchecked, not refused). The app
        secret cannot be checked this way: a wrong one shows as refused webhooks."""
        account, token = self.account_id(inbox), self.access_token(inbox)
        try:
            graph_request("GET", graph_url(urllib.parse.quote(account, safe="")), token)
        except SendError as error:
            if error.retryable or error.code in {"17", "32", "613"}:  # down, slow, throttled
                raise
            said = f"{error} (code {error.code or 'none'})"
            if error.code == "190" or " 401:" in str(error):
                raise CredentialsRejected(
                    f"The access token was refused: {said}. Copy a current token from the Meta "
                    "app.",
                    field=self.token_field,
                ) from error
            if error.code == "100" or " 404:" in str(error):
                raise CredentialsRejected(
                    f"Meta does not know {account!r}, or this token cannot see it: {said}. "
                    "Check the account ID.",
                    field=self.account_field,
                ) from error
            if error.code in {"10", "200"} or " 403:" in str(error):
                raise CredentialsRejected(
                    f"The access token has no permission for {account!r}: {said}. Give the "
                    "app's system user access to it.",
                    field=self.token_field,
                ) from error
            raise CredentialsRejected(f"Meta refused the credentials: {said}.") from error
