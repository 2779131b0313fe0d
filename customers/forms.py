from django import forms

from inboxes.channels import adapter_for_kind


def contact_field(kind: str, label: str) -> forms.Field:
    """A customer's contact detail for one channel, checked the way its adapter says."""
    adapter = adapter_for_kind(kind)
    return forms.RegexField(
        regex=adapter.contact_pattern,
        required=False,
        error_messages={"invalid": adapter.contact_error},
        label=label,
    )


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(required=False)
    phone = contact_field("phone", "Phone")
    whatsapp_number = contact_field("whatsapp", "WhatsApp number")
    instagram_handle = contact_field("instagram", "Instagram handle")
    facebook_id = contact_field("facebook", "Facebook ID")
    is_vip = forms.BooleanField(required=False, label="VIP customer")

    def clean_instagram_handle(self) -> str:
        return self.cleaned_data["instagram_handle"].lstrip("@")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].lower()
