from django import forms

E164 = r"^\+[1-9]\d{6,14}$"
E164_ERROR = {"invalid": "Use the international format, e.g. +14155550100."}


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(required=False)
    phone = forms.RegexField(regex=E164, required=False, error_messages=E164_ERROR)
    whatsapp_number = forms.RegexField(
        regex=E164, required=False, error_messages=E164_ERROR, label="WhatsApp number"
    )
    instagram_handle = forms.RegexField(
        regex=r"^@?[A-Za-z0-9._]{1,30}$",
        required=False,
        error_messages={"invalid": "Letters, digits, dots and underscores, up to 30."},
    )
    facebook_id = forms.RegexField(
        regex=r"^\d{5,20}$",
        required=False,
        error_messages={"invalid": "Digits only."},
        label="Facebook ID",
    )
    is_vip = forms.BooleanField(required=False, label="VIP customer")

    def clean_instagram_handle(self) -> str:
        return self.cleaned_data["instagram_handle"].lstrip("@")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].lower()
