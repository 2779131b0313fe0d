"""Sign-in page (password and single sign-on), sign-out, and the throttled sign-in's answer."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views.decorators.http import require_POST

from accounts.forms import SignInForm
from accounts.oidc import HubOIDCBackend, oidc_enabled, provider_logout_url


def password_sign_in_enabled() -> bool:
    """Password sign-in can be switched off only when single sign-on is there instead."""
    return getattr(settings, "PASSWORD_SIGN_IN", True) or not oidc_enabled()


class SignInView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not password_sign_in_enabled():
            raise PermissionDenied("Password sign-in is switched off; use single sign-on.")
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs: object) -> dict:
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = oidc_enabled()
        context["sso_name"] = getattr(settings, "OIDC_DISPLAY_NAME", "") or "single sign-on"
        context["password_sign_in"] = password_sign_in_enabled()
        return context


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' answer to a sign-in from an address that failed too often for that account."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    form = SignInForm(request, initial={"username": request.POST.get("username", "")})
    message = (
        "Too many failed sign-ins for this account from your address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
    context = {
        "form": form,
        "lockout_message": message,
        "next": request.POST.get("next", ""),
        "sso_enabled": oidc_enabled(),
        "sso_name": getattr(settings, "OIDC_DISPLAY_NAME", "") or "single sign-on",
        "password_sign_in": password_sign_in_enabled(),
    }
    return render(request, "accounts/login.html", context, status=429)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End the Django session; after a single sign-on, end the provider's session too."""
    redirect_to = resolve_url(settings.LOGOUT_REDIRECT_URL)
    backend = request.session.get(auth.BACKEND_SESSION_KEY, "")
    if (
        request.user.is_authenticated
        and oidc_enabled()
        and backend.endswith(HubOIDCBackend.__name__)
    ):
        redirect_to = provider_logout_url(request) or redirect_to
    auth.logout(request)
    return HttpResponseRedirect(redirect_to)


def not_a_password_attempt(request: HttpRequest, credentials: dict | None = None) -> bool:
    """django-axes counts password sign-ins only: a single sign-on callback has no username, and
    its failures must not add up to a lockout of everyone who signs in from that address."""
    return not (credentials or {}).get("username")
