"""Single sign-on with OpenID Connect (mozilla-django-oidc), for users provisioned by admins.

The provider's endpoints come from explicit settings or, when only an issuer is set, from its
discovery document, fetched on first use and cached. A sign-in never creates a user: the first one
matches an active user by an email the provider says is verified and stores the (issuer, subject)
pair; later ones match by that pair only. Every refusal carries a reason the refusal page explains.
"""

import functools
import logging
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import auth
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.middleware import SessionRefresh
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)
from requests.exceptions import RequestException

from accounts.backends import EmailBackend
from accounts.models import User

logger = logging.getLogger(__name__)

# mozilla-django-oidc setting -> key of the provider's discovery document
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_END_SESSION_ENDPOINT": "end_session_endpoint",
}

REFUSALS = {
    "unknown": (
        "There is no account for you here yet",
        "Your sign-in worked at the identity provider, but no user of this hub has that email "
        "address. Ask your company admin to add you, then sign in again.",
    ),
    "unverified": (
        "Your email address is not verified",
        "The identity provider has not verified your email address, so it cannot be matched to "
        "an account here. Verify it with the provider, or ask your company admin for help.",
    ),
    "inactive": (
        "This account is deactivated",
        "Ask your company admin to reactivate it.",
    ),
    "company_inactive": (
        "Your company's account is deactivated",
        "You cannot sign in until it is reactivated. Contact the platform administrator.",
    ),
    "mismatch": (
        "This account is linked to another identity",
        "The account with your email address signs in with a different identity at the provider. "
        "Ask your company admin for help.",
    ),
    "unreachable": (
        "The sign-in provider cannot be reached",
        "Try again in a moment, or sign in with your password if your company allows it. "
        "Nothing was changed.",
    ),
    "failed": (
        "The sign-in could not be verified",
        "The answer from the identity provider was not valid, expired, or already used. "
        "Start again from the sign-in page.",
    ),
}


# the `state` of each silent renewal (prompt=none) this session started: only the answer to one
# of them may end the session (a plain link to the callback with ?error=... must not)
RENEWAL_STATES_KEY = "oidc_renewal_states"
MAX_RENEWAL_STATES = 5


def oidc_enabled() -> bool:
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", "")) and bool(
        getattr(settings, "OIDC_ISSUER", "")
        or getattr(settings, "OIDC_OP_AUTHORIZATION_ENDPOINT", "")
    )


@functools.cache
def _discovery(issuer: str) -> dict:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    response = requests.get(url, timeout=import_from_settings("OIDC_TIMEOUT", 10))
    response.raise_for_status()
    document = response.json()
    if document.get("issuer", "").rstrip("/") != issuer.rstrip("/"):
        raise ImproperlyConfigured(f"The discovery document at {url} names another issuer.")
    return document


def provider_setting(attr: str, *default: object) -> object:
    """A setting, with the provider's endpoints filled in from discovery when not set explicitly."""
    value = getattr(settings, attr, None)
    if value or attr not in DISCOVERED:
        return import_from_settings(attr, *default)
    issuer = getattr(settings, "OIDC_ISSUER", "")
    if issuer:
        found = _discovery(issuer).get(DISCOVERED[attr])
        if found:
            return found
    if default:
        return default[0]
    raise ImproperlyConfigured(f"Set {attr} or OIDC_ISSUER.")


def _refuse(request: HttpRequest, reason: str) -> None:
    request.sso_refusal = reason
    raise SuspiciousOperation(f"single sign-on refused: {reason}")


class HubOIDCBackend(OIDCAuthenticationBackend):
    """Authorization code flow with PKCE; never creates users; remembers the subject."""

    get_settings = staticmethod(provider_setting)

    def __init__(self, *args: object, **kwargs: object) -> None:
        # The parent reads every endpoint here; Django builds a backend for each session lookup,
        # so the endpoints (perhaps from discovery) are read only when a sign-in needs them.
        self.UserModel = User
        self.OIDC_RP_SIGN_ALGO = import_from_settings("OIDC_RP_SIGN_ALGO", "RS256")
        self.OIDC_RP_IDP_SIGN_KEY = None

    OIDC_RP_CLIENT_ID = property(lambda self: import_from_settings("OIDC_RP_CLIENT_ID"))
    OIDC_RP_CLIENT_SECRET = property(lambda self: import_from_settings("OIDC_RP_CLIENT_SECRET"))
    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: provider_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: provider_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: provider_setting("OIDC_OP_JWKS_ENDPOINT"))

    def authenticate(self, request: HttpRequest | None, **kwargs: object) -> User | None:
        if request is None or not oidc_enabled() or "code" not in request.GET:
            return None
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: str, key: object) -> dict:
        """Check signature, algorithm, audience, issuer and expiry (with bounded clock skew)."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("The ID token is not signed with the expected algorithm.")
        issuer = getattr(settings, "OIDC_ISSUER", "") or None
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer,
                leeway=int(self.get_settings("OIDC_CLOCK_SKEW_SECONDS", 60)),
                options={"require": ["exp", "iat", "iss", "sub", "aud"]},
            )
        except jwt.InvalidTokenError as error:
            raise SuspiciousOperation(f"ID token rejected: {error}") from error

    def get_userinfo(self, access_token: str, id_token: str, payload: dict) -> dict:
        """The userinfo claims, which must be about the ID token's subject, plus its issuer."""
        claims = super().get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about another subject.")
        return {**claims, "iss": payload["iss"]}

    def verify_claims(self, claims: dict) -> bool:
        return bool(claims.get("sub")) and bool(claims.get("iss"))

    def filter_users_by_claims(self, claims: dict):
        users = User.objects.select_related("company")
        linked = users.filter(oidc_issuer=claims["iss"], oidc_subject=claims["sub"])
        if linked.exists():
            return linked
        email = (claims.get("email") or "").strip()
        if not email or not users.filter(email__iexact=email).exists():
            _refuse(self.request, "unknown")
        if claims.get("email_verified") is not True:
            _refuse(self.request, "unverified")
        matched = users.filter(email__iexact=email)
        if matched.exclude(oidc_subject="").exists():
            _refuse(self.request, "mismatch")
        return matched

    def create_user(self, claims: dict) -> User:
        _refuse(self.request, "unknown")

    def update_user(self, user: User, claims: dict) -> User:
        if not user.is_active:
            _refuse(self.request, "inactive")
        if user.company is not None and not user.company.is_active:
            _refuse(self.request, "company_inactive")
        if not user.oidc_subject:
            user.oidc_issuer = claims["iss"]
            user.oidc_subject = claims["sub"]
            user.save(update_fields=["oidc_issuer", "oidc_subject", "updated_at"])
        return user

    def user_can_authenticate(self, user: User) -> bool:
        return EmailBackend().user_can_authenticate(user)

    def get_user(self, user_id: int) -> User | None:
        return EmailBackend().get_user(user_id)


class AuthenticationRequestView(OIDCAuthenticationRequestView):
    """Starts the flow at the provider (404 while single sign-on is not configured)."""

    get_settings = staticmethod(provider_setting)

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)

    def __init__(self, *args: object, **kwargs: object) -> None:
        # the parent reads the endpoints here; defer that until a request proves SSO is on
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, ValueError):
            logger.warning("Single sign-on: the provider's discovery document is unreachable.")
            return refusal(request, "unreachable")
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: signs in, or shows why not.

    It ends the browser's session only when it answers a silent renewal (prompt=none) that the hub
    itself started in this session: a visit to the callback from anywhere else (a link with
    `?error=login_required`, a stale or forged state) leaves a signed-in user signed in."""

    get_settings = staticmethod(provider_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        self.renewal = self._take_renewal_state(request)
        error = request.GET.get("error")
        if error:
            return self._provider_error(request, error)
        try:
            return super().get(request)
        except (SuspiciousOperation, RequestException) as error:
            logger.warning("single sign-on failed: %s", error)
            return self.login_failure()

    @staticmethod
    def _take_renewal_state(request: HttpRequest) -> bool:
        """Whether this answer carries the state of a renewal this session started (used once)."""
        state = request.GET.get("state", "")
        started = request.session.get(RENEWAL_STATES_KEY, [])
        if not state or state not in started:
            return False
        request.session[RENEWAL_STATES_KEY] = [s for s in started if s != state]
        return True

    def _provider_error(self, request: HttpRequest, error: str) -> HttpResponse:
        state = request.GET.get("state", "")
        states = request.session.get("oidc_states", {})
        if state in states:  # an answer is used once, even a refusal
            del states[state]
            request.session.modified = True
        if self.renewal:
            # the silent renewal found the provider session over (or wanting a login): sign in again
            next_url = request.session.get("oidc_login_next") or ""
            auth.logout(request)
            login_url = resolve_url(settings.LOGIN_URL)
            return HttpResponseRedirect(f"{login_url}?{urlencode({'next': next_url})}")
        if request.user.is_authenticated:  # not an answer to anything we asked: change nothing
            return HttpResponseRedirect(resolve_url(settings.LOGIN_REDIRECT_URL))
        if error in {"login_required", "interaction_required"}:
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        return self.login_failure()

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, "sso_refusal", "failed")
        if self.renewal or not self.request.user.is_authenticated:
            auth.logout(self.request)  # flushes the session: nothing of this attempt stays
        return refusal(self.request, reason)


def refusal(request: HttpRequest, reason: str) -> HttpResponse:
    title, detail = REFUSALS.get(reason, REFUSALS["failed"])
    context = {"title": title, "detail": detail, "reason": reason}
    return render(request, "accounts/sso_refused.html", context, status=403)


class HtmxSessionRefresh(SessionRefresh):
    """Renews the ID token at the provider when it expires; HTMX requests get HX-Redirect.

    A poll swapped with the provider's page would be useless, so an HTMX request is sent (whole
    page) through the provider and back to the page the poll came from.
    """

    get_settings = staticmethod(provider_setting)

    def __init__(self, get_response) -> None:  # noqa: ANN001
        super(SessionRefresh, self).__init__(get_response)
        self.OIDC_EXEMPT_URLS = []

    @functools.cached_property
    def exempt_urls(self) -> set[str]:
        names = ["accounts:oidc_authenticate", "accounts:oidc_callback", "accounts:logout"]
        return {reverse(name) for name in names}

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        # cheap checks first: only a single sign-on session whose ID token has expired needs the
        # provider, so a provider that is down never breaks password users or anonymous pages
        if not oidc_enabled() or not self.is_refreshable_url(request):
            return None
        if request.session.get("oidc_id_token_expiration", 0) > time.time():
            return None
        try:
            self._load_provider_settings()
        except (requests.RequestException, ImproperlyConfigured, ValueError):
            logger.warning("Single sign-on renewal skipped: the provider cannot be reached.")
            return None
        response = super().process_request(request)
        if response is None:
            return None
        self._remember_renewal(request, response)
        if not getattr(request, "htmx", False):
            return response
        current = request.htmx.current_url_abs_path or "/"
        request.session["oidc_login_next"] = current
        return HttpResponseClientRedirect(response["Location"])

    @staticmethod
    def _remember_renewal(request: HttpRequest, response: HttpResponse) -> None:
        url = response.get("Location") or response.get("refresh_url") or ""
        state = parse_qs(urlsplit(url).query).get("state", [""])[0]
        if state:
            started = request.session.get(RENEWAL_STATES_KEY, [])
            request.session[RENEWAL_STATES_KEY] = [*started, state][-MAX_RENEWAL_STATES:]

    def _load_provider_settings(self) -> None:
        for attr, name in [
            ("OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_AUTHORIZATION_ENDPOINT"),
            ("OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_ID"),
            ("OIDC_STATE_SIZE", "OIDC_STATE_SIZE"),
            ("OIDC_AUTHENTICATION_CALLBACK_URL", "OIDC_AUTHENTICATION_CALLBACK_URL"),
            ("OIDC_RP_SCOPES", "OIDC_RP_SCOPES"),
            ("OIDC_USE_NONCE", "OIDC_USE_NONCE"),
            ("OIDC_NONCE_SIZE", "OIDC_NONCE_SIZE"),
        ]:
            defaults = {
                "OIDC_STATE_SIZE": 32,
                "OIDC_NONCE_SIZE": 32,
                "OIDC_USE_NONCE": True,
                "OIDC_RP_SCOPES": "openid email",
                "OIDC_AUTHENTICATION_CALLBACK_URL": "accounts:oidc_callback",
            }
            args = (defaults[name],) if name in defaults else ()
            setattr(self, attr, self.get_settings(name, *args))


def provider_logout_url(request: HttpRequest) -> str | None:
    """The provider's end-session URL for this sign-in, or None when it offers none."""
    endpoint = provider_setting("OIDC_OP_END_SESSION_ENDPOINT", "")
    if not endpoint:
        return None
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(
            resolve_url(settings.LOGOUT_REDIRECT_URL)
        ),
    }
    id_token = request.session.get("oidc_id_token")
    if id_token:
        params["id_token_hint"] = id_token
    return f"{endpoint}?{urlencode(params)}"
