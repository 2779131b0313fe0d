"""What WhatsApp, Messenger and Instagram share: Meta's webhook signing (X-Hub-Signature-256), the
GET hub.verify_token handshake, and the Graph API's base URL."""

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings

from inboxes.channels.base import ChannelAdapter, CredentialsRejected, SendError
from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.models import Inbox

APP_SECRET = CredentialField(
    "app_secret", "App secret", True, "Checks the X-Hub-Signature-256 of every webhook."
)


def graph_url(path: str) -> str:
    """A Graph API URL: GRAPH_API_BASE_URL (a local server in tests and the demo) and version."""
    base = settings.GRAPH_API_BASE_URL.rstrip("/")
    return f"{base}/{settings.GRAPH_API_VERSION}/{path.lstrip('/')}"


class MetaAdapter(ChannelAdapter):
    uses_verify_token: ClassVar[bool] = True
    # the credential naming the provider account (phone number id, page id, Instagram account
    # id) and the one holding the Graph access token
    account_field: ClassVar[str]
    token_field: ClassVar[str]

    def check_credentials(self, inbox: "Inbox") -> None:
        """Ask the Graph API for the inbox's account with its token: a refused token or an
        account the token cannot see is CredentialsRejected (saying which); a provider that
        cannot be reached now is SendError (the credentials stay unchecked, not refused). The
        app secret cannot be checked this way: a wrong one shows as refused webhooks."""
        account = str(inbox.credentials.get(self.account_field) or "")
        token = str(inbox.credentials.get(self.token_field) or "")
        url = graph_url(urllib.parse.quote(account, safe=""))
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(  # noqa: S310 - the Graph base URL is a setting
                request, timeout=settings.PROVIDER_TIMEOUT_SECONDS
            ):
                return
        except urllib.error.HTTPError as error:
            status, (code, text) = error.code, _graph_error_of(error.read())
        except TimeoutError as error:
            raise SendError("Meta did not answer in time.", code="timeout") from error
        except OSError as error:  # refused, unreachable, DNS (URLError is an OSError)
            reason = getattr(error, "reason", error)
            raise SendError(f"Meta could not be reached: {reason}.", code="unreachable") from error
        said = f"{text or 'no reason given'} (code {code or status})"
        if status >= 500 or status == 429 or code in {"4", "17", "32", "613"}:
            raise SendError(f"Meta could not check them now: {said}.", code=code)
        if status == 401 or code == "190":
            raise CredentialsRejected(
                f"The access token was refused: {said}. Copy a current token from the Meta app.",
                field=self.token_field,
            )
        if status == 404 or code == "100":
            raise CredentialsRejected(
                f"Meta does not know {account!r}, or this token cannot see it: {said}. "
                "Check the account ID.",
                field=self.account_field,
            )
        if status == 403 or code in {"10", "200"}:
            raise CredentialsRejected(
                f"The access token has no permission for {account!r}: {said}. Give the app's "
                "system user access to it.",
                field=self.token_field,
            )
        raise CredentialsRejected(f"Meta refused the credentials: {said}.")


def _graph_error_of(body: bytes) -> tuple[str, str]:
    """A Graph error answer's code and message ("" when the body is not one)."""
    try:
        error = json.loads(body or b"{}").get("error") or {}
        return str(error.get("code") or ""), str(error.get("message") or "")[:300]
    except (ValueError, AttributeError):
        return "", ""
