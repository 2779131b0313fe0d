"""What each channel kind needs to connect, and which of it is secret (write-only)."""

from dataclasses import dataclass

from inboxes.models import Channel


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    is_secret: bool = False
    help_text: str = ""


META_APP_SECRET = CredentialField(
    "app_secret", "App secret", True, "Checks the X-Hub-Signature-256 of every webhook."
)

CREDENTIAL_FIELDS: dict[str, tuple[CredentialField, ...]] = {
    Channel.WHATSAPP: (
        CredentialField("phone_number_id", "Phone number ID"),
        CredentialField("business_account_id", "WhatsApp Business account ID"),
        CredentialField("access_token", "Access token", True),
        META_APP_SECRET,
    ),
    Channel.FACEBOOK: (
        CredentialField("page_id", "Page ID"),
        CredentialField("page_access_token", "Page access token", True),
        META_APP_SECRET,
    ),
    Channel.INSTAGRAM: (
        CredentialField("instagram_account_id", "Instagram account ID"),
        CredentialField("access_token", "Access token", True),
        META_APP_SECRET,
    ),
    Channel.EMAIL: (
        CredentialField("email_address", "Email address"),
        CredentialField("imap_host", "IMAP server"),
        CredentialField("imap_port", "IMAP port", help_text="Usually 993."),
        CredentialField("imap_username", "IMAP user name"),
        CredentialField("imap_password", "IMAP password", True),
        CredentialField("smtp_host", "SMTP server"),
        CredentialField("smtp_port", "SMTP port", help_text="Usually 587."),
        CredentialField("smtp_username", "SMTP user name"),
        CredentialField("smtp_password", "SMTP password", True),
    ),
    Channel.PHONE: (
        CredentialField("account_sid", "Twilio account SID"),
        CredentialField(
            "phone_number", "Phone number", help_text="International format, e.g. +14155550100."
        ),
        CredentialField(
            "auth_token", "Auth token", True, "Checks the X-Twilio-Signature of every webhook."
        ),
    ),
}

# kinds whose provider calls back with a verify-token handshake (Meta's GET hub.challenge)
VERIFY_TOKEN_KINDS = {Channel.WHATSAPP, Channel.FACEBOOK, Channel.INSTAGRAM}
