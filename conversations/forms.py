from django import forms

from conversations.models import Conversation
from inboxes.models import Channel


class ReplyForm(forms.Form):
    # length is checked by the service, so a too-long draft gets a clear error, not a truncation
    content = forms.CharField(required=False, strip=False)
    last_seen = forms.IntegerField(required=False, min_value=0)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Conversation.Status.choices)


class AssignForm(forms.Form):
    # a user id, "" to unassign
    assignee = forms.CharField(required=False)

    def clean_assignee(self) -> int | str | None:
        value = self.cleaned_data["assignee"]
        if value in ("", "none"):
            return None
        if value == "me":
            return value
        if not value.isdigit():
            raise forms.ValidationError("Choose someone to assign to.")
        return int(value)


class CustomerProfileForm(forms.Form):
    name = forms.CharField(max_length=200)
    is_vip = forms.BooleanField(required=False)


class StartConversationForm(forms.Form):
    MODE_CHOICES = [("existing", "Existing customer"), ("new", "New customer")]

    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="existing", widget=forms.RadioSelect)
    customer = forms.IntegerField(required=False)
    name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    phone = forms.RegexField(
        regex=r"^\+[1-9]\d{6,14}$",
        required=False,
        error_messages={"invalid": "Use the international format, e.g. +14155550100."},
    )
    whatsapp_number = forms.RegexField(
        regex=r"^\+[1-9]\d{6,14}$",
        required=False,
        error_messages={"invalid": "Use the international format, e.g. +14155550100."},
    )
    instagram_handle = forms.RegexField(regex=r"^@?[A-Za-z0-9._]{1,30}$", required=False)
    facebook_id = forms.RegexField(regex=r"^\d{5,20}$", required=False)
    channel = forms.ChoiceField(choices=Channel.choices)
    inbox = forms.CharField(required=False)
    subject = forms.CharField(max_length=255, required=False)
    content = forms.CharField(strip=False, widget=forms.Textarea)

    def clean_instagram_handle(self) -> str:
        return self.cleaned_data["instagram_handle"].lstrip("@")

    def clean_inbox(self) -> int | None:
        value = self.cleaned_data["inbox"]
        return int(value) if value.isdigit() else None

    def clean(self) -> dict:
        data = super().clean()
        if data.get("mode") == "existing" and not data.get("customer"):
            self.add_error("customer", "Choose a customer, or switch to New customer.")
        if data.get("mode") == "new" and not (data.get("name") or "").strip():
            self.add_error("name", "Enter the customer's name.")
        return data
