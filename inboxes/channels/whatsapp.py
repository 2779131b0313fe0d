"""WhatsApp Cloud API: webhooks in (signed by Meta), messages out through the Graph API's
`/<phone-number-id>/messages`."""

from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar

from inboxes.channels.meta import APP_SECRET, MetaAdapter
from inboxes.credentials import CredentialField

if TYPE_CHECKING:
    from inboxes.channels.base import OutboundMessage, SendResult
    from inboxes.models import Inbox


class WhatsAppAdapter(MetaAdapter):
    kind = "whatsapp"
    label = "WhatsApp"
    icon = "channels/icons/whatsapp.html"
    identity_kind = "wa_id"
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
