"""Single sign-on (accounts/oidc.py) against the real provider, with `requests` as the browser,
and the ID token checks, renewal and sign-out pieces on their own."""

import time
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import SuspiciousOperation
from django.test import Client

from accounts.models import User
from accounts.oidc import HubOIDCBackend
from tests.factories import UserFactory
from tests.oidc_fixtures import CLIENT_ID, provider_sign_in

live = pytest.mark.django_db(transaction=True)


def signed_in(browser: requests.Session, hub_url: str) -> bool:
    response = browser.get(hub_url + "/home/", allow_redirects=False, timeout=10)
    return response.status_code == 302 and "/accounts/login/" not in response.headers["Location"]


@live
def test_the_callback_signs_in_once_and_a_replayed_code_is_refused(
    live_server, oidc_provider, sso_settings
):
    user = UserFactory(email="ana@sso.example")
    browser = requests.Session()
    callback = provider_sign_in(browser, live_server.url, "ana-sub")
    query = parse_qs(urlparse(callback).query)
    assert query.get("code") and query.get("state")
    response = browser.get(callback, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    assert signed_in(browser, live_server.url)
    user.refresh_from_db()
    assert user.oidc_subject == "ana-sub"

    # another browser starts its own flow (a valid state of its own) and offers the used code
    attacker = requests.Session()
    start = attacker.get(
        live_server.url + "/accounts/oidc/authenticate/", allow_redirects=False, timeout=10
    )
    authorize = parse_qs(urlparse(start.headers["Location"]).query)
    assert authorize["code_challenge_method"] == ["S256"] and authorize["nonce"]
    replay = attacker.get(
        live_server.url
        + "/accounts/oidc/callback/?"
        + urlencode({"code": query["code"][0], "state": authorize["state"][0]}),
        allow_redirects=False,
        timeout=10,
    )
    assert replay.status_code == 403
    assert "The sign-in could not be verified" in replay.text
    assert not signed_in(attacker, live_server.url)


@live
def test_a_tampered_state_is_refused(live_server, oidc_provider, sso_settings):
    user = UserFactory(email="eve@sso.example")
    browser = requests.Session()
    callback = urlparse(provider_sign_in(browser, live_server.url, "eve-sub"))
    query = {key: values[0] for key, values in parse_qs(callback.query).items()}
    query["state"] = query["state"][::-1] + "x"
    response = browser.get(
        callback._replace(query=urlencode(query)).geturl(), allow_redirects=False, timeout=10
    )
    assert response.status_code == 403
    assert "The sign-in could not be verified" in response.text
    assert not signed_in(browser, live_server.url)
    user.refresh_from_db()
    assert user.oidc_subject == ""


@live
def test_a_code_without_its_pkce_verifier_is_refused(live_server, oidc_provider, sso_settings):
    """A code issued to one browser's flow is useless in another's (its verifier differs)."""
    UserFactory(email="ana@sso.example")
    victim = requests.Session()
    code = parse_qs(urlparse(provider_sign_in(victim, live_server.url, "ana-sub")).query)["code"]
    attacker = requests.Session()
    start = attacker.get(
        live_server.url + "/accounts/oidc/authenticate/", allow_redirects=False, timeout=10
    )
    state = parse_qs(urlparse(start.headers["Location"]).query)["state"][0]
    response = attacker.get(
        live_server.url
        + "/accounts/oidc/callback/?"
        + urlencode({"code": code[0], "state": state}),
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 403
    assert not signed_in(attacker, live_server.url)


@live
def test_a_linked_user_is_matched_by_subject_not_email(live_server, oidc_provider, sso_settings):
    user = UserFactory(email="someone.else@example.com", first_name="Linked")
    User.objects.filter(pk=user.pk).update(oidc_issuer=oidc_provider.issuer, oidc_subject="ana-sub")
    UserFactory(email="ana@sso.example", first_name="Emailmatch")  # loses to the subject match
    browser = requests.Session()
    response = browser.get(provider_sign_in(browser, live_server.url, "ana-sub"), timeout=10)
    assert response.status_code == 200
    assert "Linked Tester" in response.text and "Emailmatch" not in response.text


# --- without a provider


@pytest.mark.django_db
def test_without_configuration_there_is_no_sso(client: Client):
    page = client.get("/accounts/login/")
    assert b"Sign in with" not in page.content
    assert b'name="password"' in page.content
    assert client.get("/accounts/oidc/authenticate/").status_code == 404
    assert client.get("/accounts/oidc/callback/?code=x&state=y").status_code == 404


@pytest.mark.django_db
def test_the_sign_in_page_offers_sso_and_password_sign_in_can_be_switched_off(
    client: Client, settings
):
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_RP_CLIENT_ID = "hub"
    settings.OIDC_DISPLAY_NAME = "Example ID"
    page = client.get("/accounts/login/")
    assert b"Sign in with Example ID" in page.content
    assert b'name="password"' in page.content
    settings.PASSWORD_SIGN_IN = False
    page = client.get("/accounts/login/")
    assert b"Sign in with Example ID" in page.content
    assert b'name="password"' not in page.content
    user = UserFactory()
    refused = client.post("/accounts/login/", {"username": user.email, "password": "x"})
    assert refused.status_code == 403


@pytest.fixture
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def id_token(key, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://id.example.com",
        "sub": "s1",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


@pytest.fixture
def backend(settings):
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://id.example.com/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://id.example.com/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://id.example.com/me"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://id.example.com/jwks"
    settings.OIDC_CLOCK_SKEW_SECONDS = 60
    return HubOIDCBackend()


def test_id_tokens_are_checked_with_bounded_clock_skew(backend, signing_key):
    public = signing_key.public_key()
    assert backend._verify_jws(id_token(signing_key), public)["sub"] == "s1"
    now = int(time.time())
    # expired 30 s ago: within the skew; 120 s ago: refused
    assert backend._verify_jws(id_token(signing_key, exp=now - 30), public)
    with pytest.raises(SuspiciousOperation):
        backend._verify_jws(id_token(signing_key, exp=now - 120), public)
    for wrong in ({"aud": "another-client"}, {"iss": "https://evil.example.com"}):
        with pytest.raises(SuspiciousOperation):
            backend._verify_jws(id_token(signing_key, **wrong), public)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SuspiciousOperation):
        backend._verify_jws(id_token(other_key), public)
    unsigned = jwt.encode({"sub": "s1"}, "secret-secret-secret-secret-32by", algorithm="HS256")
    with pytest.raises(SuspiciousOperation):
        backend._verify_jws(unsigned, public)


def test_the_nonce_of_the_id_token_must_be_the_one_sent(backend, signing_key, monkeypatch):
    monkeypatch.setattr(backend, "retrieve_matching_jwk", lambda token: signing_key.public_key())
    assert backend.verify_token(id_token(signing_key, nonce="n"), nonce="n")["sub"] == "s1"
    with pytest.raises(SuspiciousOperation):
        backend.verify_token(id_token(signing_key, nonce="replayed"), nonce="n")


@pytest.mark.django_db
def test_an_htmx_poll_with_an_expired_id_token_gets_hx_redirect(settings, agent):
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://id.example.com/auth"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "accounts.oidc.HubOIDCBackend",
    ]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "accounts.oidc.HtmxSessionRefresh"]
    client = Client()
    client.force_login(agent, backend="accounts.oidc.HubOIDCBackend")
    session = client.session
    session["oidc_id_token_expiration"] = time.time() - 1
    session.save()

    poll = client.get(
        "/inbox/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/inbox/?tab=mine"},
    )
    assert poll.status_code == 200
    assert poll["HX-Redirect"].startswith("https://id.example.com/auth?")
    assert "prompt=none" in poll["HX-Redirect"]
    assert client.session["oidc_login_next"] == "/inbox/?tab=mine"

    page = client.get("/inbox/")
    assert page.status_code == 302 and page["Location"].startswith("https://id.example.com/auth?")

    # a password sign-in is never sent to the provider
    password_client = Client()
    password_client.force_login(agent, backend="accounts.backends.EmailBackend")
    assert password_client.get("/inbox/", headers={"HX-Request": "true"}).status_code == 200


@pytest.mark.django_db
def test_sign_out_after_sso_calls_the_providers_end_session(settings, agent):
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://id.example.com/auth"
    settings.OIDC_OP_END_SESSION_ENDPOINT = "https://id.example.com/session/end"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "accounts.oidc.HubOIDCBackend",
    ]
    client = Client()
    client.force_login(agent, backend="accounts.oidc.HubOIDCBackend")
    session = client.session
    session["oidc_id_token"] = "the-id-token"
    session.save()
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.netloc == "id.example.com" and location.path == "/session/end"
    assert parse_qs(location.query)["id_token_hint"] == ["the-id-token"]
    assert parse_qs(location.query)["post_logout_redirect_uri"] == ["http://testserver/"]
    assert "_auth_user_id" not in client.session

    # a password sign-in just ends the hub's session
    client.force_login(agent, backend="accounts.backends.EmailBackend")
    assert client.post("/accounts/logout/")["Location"] == "/"


@live
def test_an_expired_id_token_is_renewed_silently_and_an_ended_provider_session_signs_out(
    live_server, oidc_provider, sso_settings
):
    """The session refresh against the real provider, with the hub behind Django's test client
    (the live server's middleware cannot change during a run)."""
    sso_settings.MIDDLEWARE = [*sso_settings.MIDDLEWARE, "accounts.oidc.HtmxSessionRefresh"]
    UserFactory(email="ana@sso.example")
    hub, browser = Client(), requests.Session()
    hub_url = "http://testserver"

    def follow_to_hub(start: str):
        callback = urlparse(provider_sign_in(browser, hub_url, "ana-sub", start=start))
        return hub.get(f"{callback.path}?{callback.query}")

    start = hub.get("/accounts/oidc/authenticate/")["Location"]
    assert follow_to_hub(start).status_code == 302
    assert hub.get("/inbox/").status_code == 200

    # the ID token's time is up: the next poll is sent through the provider, which answers
    # without asking (prompt=none), and the user lands back on the page the poll came from
    session = hub.session
    session["oidc_id_token_expiration"] = time.time() - 1
    session.save()
    poll = hub.get(
        "/inbox/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/inbox/?tab=mine"},
    )
    renew = poll["HX-Redirect"]
    assert "prompt=none" in renew
    back = follow_to_hub(renew)
    assert (back.status_code, back["Location"]) == (302, "/inbox/?tab=mine")
    assert hub.session["oidc_id_token_expiration"] > time.time()
    assert hub.get("/inbox/").status_code == 200

    # the provider session is over (another browser without its cookie): back to sign-in
    session = hub.session
    session["oidc_id_token_expiration"] = time.time() - 1
    session.save()
    browser = requests.Session()
    renew = hub.get("/inbox/")["Location"]
    answer = browser.get(renew, allow_redirects=False, timeout=10)
    callback = urlparse(answer.headers["Location"])
    assert parse_qs(callback.query)["error"] == ["login_required"]
    response = hub.get(f"{callback.path}?{callback.query}")
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=%2Finbox%2F",
    )
    assert "_auth_user_id" not in hub.session


def test_an_unreachable_provider_breaks_neither_pages_nor_password_sign_in(settings, db):
    """A provider that is down (nothing listens on port 9) must not take the hub down with it."""
    from django.test import Client

    from accounts import oidc
    from tests.factories import PASSWORD, UserFactory

    oidc._discovery.cache_clear()
    settings.OIDC_ISSUER = "http://127.0.0.1:9/"
    settings.OIDC_RP_CLIENT_ID = "hub"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    # as hub/settings.py wires it when single sign-on is configured at start
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "accounts.oidc.HubOIDCBackend",
    ]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "accounts.oidc.HtmxSessionRefresh"]
    user = UserFactory(email="pw@example.com")
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    start = client.get("/accounts/oidc/authenticate/")
    assert start.status_code == 403
    assert b"cannot be reached" in start.content
    assert (
        client.post("/accounts/login/", {"username": user.email, "password": PASSWORD}).status_code
        == 302
    )
    assert client.get("/inbox/").status_code == 200
    oidc._discovery.cache_clear()


def _sso_configured(settings) -> None:
    settings.OIDC_ISSUER = "https://id.example.com"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://id.example.com/auth"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "accounts.oidc.HubOIDCBackend",
    ]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "accounts.oidc.HtmxSessionRefresh"]


@pytest.mark.django_db
@pytest.mark.parametrize("error", ["login_required", "interaction_required", "access_denied"])
@pytest.mark.parametrize(
    "backend", ["accounts.backends.EmailBackend", "accounts.oidc.HubOIDCBackend"]
)
def test_a_plain_link_to_the_callback_signs_nobody_out(settings, agent, error, backend):
    """Only the answer to a renewal the hub started may end a session; a link anyone can send
    (with a made-up state, or none) changes nothing."""
    _sso_configured(settings)
    client = Client()
    client.force_login(agent, backend=backend)
    session = client.session
    session["oidc_id_token_expiration"] = time.time() + 600
    session.save()
    for query in (f"?error={error}", f"?error={error}&state=made-up"):
        response = client.get("/accounts/oidc/callback/" + query)
        assert response.status_code == 302 and response["Location"] == "/home/"
        assert client.get("/inbox/").status_code == 200


@pytest.mark.django_db
def test_only_the_answer_to_the_hubs_own_renewal_signs_out(settings, agent):
    _sso_configured(settings)
    client = Client()
    client.force_login(agent, backend="accounts.oidc.HubOIDCBackend")
    session = client.session
    session["oidc_id_token_expiration"] = time.time() - 1
    session.save()
    renew = client.get("/inbox/?tab=mine")["Location"]
    assert "prompt=none" in renew
    state = parse_qs(urlparse(renew).query)["state"][0]
    # another state (an earlier sign-in's, or a guess) is not that answer
    assert client.get("/accounts/oidc/callback/?error=login_required&state=x")["Location"] == (
        "/home/"
    )
    assert "_auth_user_id" in client.session
    response = client.get(f"/accounts/oidc/callback/?error=login_required&state={state}")
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=%2Finbox%2F%3Ftab%3Dmine",
    )
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_failed_callback_leaves_a_signed_in_password_user_signed_in(settings, agent):
    _sso_configured(settings)
    client = Client()
    client.force_login(agent, backend="accounts.backends.EmailBackend")
    response = client.get("/accounts/oidc/callback/?code=stolen&state=unknown")
    assert response.status_code == 403
    assert client.get("/inbox/").status_code == 200
