from django import forms

from inboxes.channels import adapter_for_kind
from inboxes.models import Inbox

MAX_CREDENTIAL_LENGTH = 4000


def inbox_form(kind: str) -> type[forms.Form]:
    """The inbox form of a channel kind: its name and the credentials that kind needs. It checks
    what each value is (text of a sane length, no NUL byte); which are required and whether they
    connect is the service's rule (inboxes.services)."""
    fields: dict[str, forms.Field] = {
        "name": forms.CharField(
            max_length=Inbox._meta.get_field("name").max_length, required=False, label="Name"
        )
    }
    for field in adapter_for_kind(kind).credential_fields:
        fields[field.name] = forms.CharField(
            max_length=MAX_CREDENTIAL_LENGTH, required=False, label=field.label
        )
    return type(f"{kind.capitalize()}InboxForm", (forms.Form,), fields)
