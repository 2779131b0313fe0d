from django import forms

from conversations.models import Conversation
from customers.forms import CustomerForm
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
    # a new customer's identities follow the customer form's rules
    email = CustomerForm.base_fields["email"]
    phone = CustomerForm.base_fields["phone"]
    whatsapp_number = CustomerForm.base_fields["whatsapp_number"]
    instagram_handle = CustomerForm.base_fields["instagram_handle"]
    facebook_id = CustomerForm.base_fields["facebook_id"]
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
