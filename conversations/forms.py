"""The inbox's inputs. Every value a view reads goes through one of these first, so a malformed
one is a clear 400 or 422 and nothing is read or written with it."""

import re

from django import forms

from conversations.models import Conversation
from conversations.selectors import Cursor
from customers.forms import CustomerForm
from hub.forms import BIGINT_MAX, id_field
from inboxes.models import Channel


class ChatStateForm(forms.Form):
    """What the open chat last rendered, sent with every request from the chat column
    (#chat-state): the newest message it shows and whether it showed the composer."""

    last_seen = id_field(required=False, label="Newest message shown")
    rw = forms.TypedChoiceField(
        choices=[("1", "writable"), ("0", "read-only")],
        coerce=lambda value: value == "1",
        required=False,
        empty_value=None,
        label="Composer shown",
    )


def parse_addresses(text: str) -> list[str]:
    """Comma- or space-separated email addresses, lower case, each checked; ValidationError
    naming the first that is not an address."""
    from django.core.validators import validate_email

    addresses = []
    for part in re.split(r"[,;\s]+", text or ""):
        if not part:
            continue
        try:
            validate_email(part)
        except forms.ValidationError as error:
            raise forms.ValidationError(f"{part[:80]} is not an email address.") from error
        if part.lower() not in addresses:
            addresses.append(part.lower())
    return addresses


class PollForm(ChatStateForm):
    v = forms.CharField(required=False, max_length=500, label="Version")


class ReplyForm(ChatStateForm):
    # length is checked by the service, so a too-long draft gets a clear error, not a truncation
    content = forms.CharField(required=False, strip=False, label="Message")
    reply_to = id_field(required=False, label="Replying to")
    # email: who else receives the reply (comma-separated addresses); None when not sent
    cc = forms.CharField(required=False, max_length=2000, empty_value=None, label="Cc")

    def clean_cc(self) -> list[str] | None:
        cc = self.cleaned_data.get("cc")
        return None if cc is None else parse_addresses(cc)

    # an image or document; its type and size are checked by the service
    attachment = forms.FileField(
        required=False,
        allow_empty_file=True,
        max_length=255,
        label="File",
        # a plain file input: there is nothing stored to "clear" on a new reply
        widget=forms.FileInput,
        error_messages={
            "max_length": "That file's name is too long. Rename it and attach it again."
        },
    )


class StatusForm(ChatStateForm):
    status = forms.ChoiceField(
        choices=Conversation.Status.choices,
        error_messages={"invalid_choice": "Choose one of: new, in progress, resolved, closed."},
    )


class AssignForm(ChatStateForm):
    # a user id, "me", or "" to unassign
    assignee = forms.CharField(required=False, max_length=30)

    def clean_assignee(self) -> int | str | None:
        value = self.cleaned_data["assignee"].strip()
        if value in ("", "none"):
            return None
        if value == "me":
            return value
        try:
            return id_field().clean(value)
        except forms.ValidationError as invalid:
            raise forms.ValidationError("Choose someone to assign to.") from invalid


class UndoHandoverForm(ChatStateForm):
    token = forms.CharField(max_length=1000)


class EarlierForm(forms.Form):
    before = id_field(
        label="Before",
        error_messages={"required": "Say which message to load the earlier ones before."},
    )


class ShownIdsField(forms.Field):
    """The ids of the rows a list shows, as its poll sends them: base-36 numbers joined by "."
    (500 rows stay well inside a URL)."""

    MAX_IDS = 1000

    def to_python(self, value: object) -> list[int]:
        text = str(value or "").strip()
        if not text:
            return []
        pieces = text.split(".")
        try:
            if len(pieces) > self.MAX_IDS:
                raise ValueError
            ids = [int(piece, 36) for piece in pieces if piece.isascii() and piece.isalnum()]
            if len(ids) != len(pieces) or not all(0 < pk <= BIGINT_MAX for pk in ids):
                raise ValueError
        except ValueError as invalid:
            raise forms.ValidationError("Reload the list: its rows could not be read.") from invalid
        return ids


class CursorField(forms.Field):
    """A list position, `<last_message_at ISO>_<id>`."""

    def to_python(self, value: object) -> Cursor | None:
        text = str(value or "").strip()
        if not text:
            return None
        cursor = Cursor.parse(text) if len(text) <= 100 else None
        if cursor is None or not 0 < cursor.id <= BIGINT_MAX:
            raise forms.ValidationError("Reload the list: that position is not valid.")
        return cursor


class MoreConversationsForm(forms.Form):
    after = CursorField(
        label="After",
        error_messages={"required": "Missing or malformed cursor."},
    )
    open = id_field(required=False, label="Open conversation")


class CustomerProfileForm(forms.Form):
    name = forms.CharField(max_length=200)
    is_vip = forms.BooleanField(required=False)


class StartConversationForm(forms.Form):
    MODE_CHOICES = [("existing", "Existing customer"), ("new", "New customer")]

    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="existing", widget=forms.RadioSelect)
    customer = id_field(required=False)
    name = forms.CharField(max_length=200, required=False)
    # a new customer's identities follow the customer form's rules
    email = CustomerForm.base_fields["email"]
    phone = CustomerForm.base_fields["phone"]
    whatsapp_number = CustomerForm.base_fields["whatsapp_number"]
    instagram_handle = CustomerForm.base_fields["instagram_handle"]
    facebook_id = CustomerForm.base_fields["facebook_id"]
    channel = forms.ChoiceField(choices=Channel.choices)
    inbox = id_field(required=False)
    subject = forms.CharField(max_length=255, required=False)
    content = forms.CharField(strip=False, widget=forms.Textarea)

    def clean_instagram_handle(self) -> str:
        return self.cleaned_data["instagram_handle"].lstrip("@")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("mode") == "existing" and not data.get("customer"):
            self.add_error("customer", "Choose a customer, or switch to New customer.")
        if data.get("mode") == "new" and not (data.get("name") or "").strip():
            self.add_error("name", "Enter the customer's name.")
        return data


class ListPollForm(forms.Form):
    """A list poll: the token it rendered with, the rows it shows and how far down (#list-*)."""

    v = forms.CharField(required=False, max_length=100_000, strip=False, label="Version")
    shown = ShownIdsField(required=False, label="Rows shown")
    through = CursorField(required=False, label="Rows shown down to")
