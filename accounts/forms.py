from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import User


class SignInForm(AuthenticationForm):
    """Email and password. A correct password on a deactivated account gets a reason, not a shrug."""

    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    error_messages = {
        "invalid_login": "That email and password do not match. Check them and try again.",
        "inactive": "This account is deactivated. Ask your company admin to reactivate it.",
        "company_inactive": (
            "Your company's account is deactivated, so you cannot sign in. "
            "Contact the platform administrator."
        ),
    }

    def clean(self) -> dict:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email and password:
            self.user_cache = authenticate(self.request, username=email, password=password)
            if self.user_cache is None:
                self._refuse(email, password)
        return self.cleaned_data

    def _refuse(self, email: str, password: str) -> None:
        user = User.objects.select_related("company").filter(email__iexact=email).first()
        if user is not None and user.check_password(password):
            if not user.is_active:
                raise forms.ValidationError(self.error_messages["inactive"], code="inactive")
            if user.company is not None and not user.company.is_active:
                raise forms.ValidationError(
                    self.error_messages["company_inactive"], code="company_inactive"
                )
        raise self.get_invalid_login_error()
