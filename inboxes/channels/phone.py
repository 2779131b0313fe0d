"""Phone and SMS through Twilio (X-Twilio-Signature webhooks, the Messages API). Not connected
yet."""

from inboxes.channels.base import ChannelAdapter
from inboxes.credentials import CredentialField


class PhoneAdapter(ChannelAdapter):
    kind = "phone"
    label = "Phone / SMS"
    icon = "channels/icons/phone.html"
    identity_kind = "phone"
    contact_field = "phone"
    contact_pattern = r"^\+[1-9]\d{6,14}$"
    contact_error = "Use the international format, e.g. +14155550100."
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
