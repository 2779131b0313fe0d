"""What WhatsApp, Messenger and Instagram share: Meta's webhook signing (X-Hub-Signature-256), the
GET hub.verify_token handshake, and the Graph API's base URL."""

from typing import ClassVar

from django.conf import settings

from inboxes.channels.base import ChannelAdapter
from inboxes.credentials import CredentialField

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
