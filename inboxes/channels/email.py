"""Email: IMAP polling in (by UID, deduplicated by Message-ID), SMTP out, threaded with
In-Reply-To and References. Not connected yet."""

from inboxes.channels.base import ChannelAdapter
from inboxes.credentials import CredentialField


class EmailAdapter(ChannelAdapter):
    kind = "email"
    label = "Email"
    icon = "channels/icons/email.html"
    identity_kind = "email"
    contact_field = "email"
    credential_fields = (
        CredentialField("email_address", "Email address"),
        CredentialField("imap_host", "IMAP server"),
        CredentialField("imap_port", "IMAP port", help_text="Usually 993."),
        CredentialField("imap_username", "IMAP user name"),
        CredentialField("imap_password", "IMAP password", True),
        CredentialField("smtp_host", "SMTP server"),
        CredentialField("smtp_port", "SMTP port", help_text="Usually 587."),
        CredentialField("smtp_username", "SMTP user name"),
        CredentialField("smtp_password", "SMTP password", True),
    )

    def normalize_identity(self, value: str) -> str:
        return value.strip().lower()
