"""Facebook Messenger and Instagram messaging (Meta's Send API; ids scoped to one page or
account). Not connected yet: their inboxes are created, webhooks and sends come next."""

from inboxes.channels.meta import APP_SECRET, MetaAdapter
from inboxes.credentials import CredentialField


class MessengerAdapter(MetaAdapter):
    kind = "facebook"
    label = "Facebook Messenger"
    icon = "channels/icons/facebook.html"
    identity_kind = "psid"
    contact_field = "facebook_id"
    contact_pattern = r"^\d{5,20}$"
    contact_error = "Digits only."
    account_field = "page_id"
    token_field = "page_access_token"
    identity_is_inbox_scoped = True
    credential_fields = (
        CredentialField("page_id", "Page ID"),
        CredentialField("page_access_token", "Page access token", True),
        APP_SECRET,
    )


class InstagramAdapter(MetaAdapter):
    kind = "instagram"
    label = "Instagram"
    icon = "channels/icons/instagram.html"
    identity_kind = "igsid"
    contact_field = "instagram_handle"
    contact_pattern = r"^@?[A-Za-z0-9._]{1,30}$"
    contact_error = "Letters, digits, dots and underscores, up to 30."
    account_field = "instagram_account_id"
    token_field = "access_token"
    identity_is_inbox_scoped = True
    credential_fields = (
        CredentialField("instagram_account_id", "Instagram account ID"),
        CredentialField("access_token", "Access token", True),
        APP_SECRET,
    )
