"""Sign-in page (password and single sign-on), sign-out, the throttled sign-in's answer, and the
self-service password reset."""

from datetime import timedelta

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from accounts import services
from accounts.forms import SignInForm
from accounts.middleware import pop_signed_out_message
from accounts.models import User
from accounts.oidc import HubOIDCBackend, oidc_enabled, provider_logout_url
from hub.throttle import allow


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
        if self.request.method == "GET":
            context["signed_out_message"] = pop_signed_out_message(self.request)
        return context


def sign_in_account(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The account django-axes counts a password sign-in against: the address as the user table
    stores it, found the way sign-in finds it (case-insensitively, spaces trimmed), so any
    spelling of one address shares one count and one lockout."""
    source = credentials if credentials else getattr(request, "data", request.POST)
    typed = source.get(settings.AXES_USERNAME_FORM_FIELD)
    if not typed:
        return typed
    typed = str(typed).strip()
    known = getattr(request, "_sign_in_accounts", None)
    if known is None:
        known = request._sign_in_accounts = {}
    if typed not in known:
        stored = User.objects.filter(email__iexact=typed).values_list("email", flat=True).first()
        known[typed] = stored or typed.lower()
    return known[typed]


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


class PasswordResetView(auth_views.PasswordResetView):
    """ "Forgot your password?": the same answer whether or not the address has an account (the
    email goes out from a background task), throttled per network address and per email."""

    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("accounts:password-reset-sent")

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not password_sign_in_enabled():
            raise Http404("Password sign-in is switched off; use single sign-on.")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        hour = timedelta(hours=1)
        address = get_client_ip_address(self.request) or "unknown"
        email = form.cleaned_data["email"].strip().lower()
        if not (
            allow(
                "password-reset-address",
                address,
                limit=settings.PASSWORD_RESET_REQUESTS_PER_HOUR,
                per=hour,
            )
            and allow(
                "password-reset-email",
                email,
                limit=settings.PASSWORD_RESET_EMAILS_PER_HOUR,
                per=hour,
            )
        ):
            form.add_error(
                None,
                "Too many password reset requests. Check your inbox (and spam folder) for the "
                "links already sent, or try again in an hour.",
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        services.request_password_reset(email=email, base_url=self.request.build_absolute_uri("/"))
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"

    def get_context_data(self, **kwargs: object) -> dict:
        return {**super().get_context_data(**kwargs), "link_days": services.link_days()}


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page a set-password link opens (invitations, resets by an admin, "Forgot your
    password?"); it never signs in by itself."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form: object) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is saved. Sign in with it.")
        return response
