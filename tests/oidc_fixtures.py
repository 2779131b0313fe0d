"""A real OpenID provider (tests/oidc_provider/server.js, npm's oidc-provider) on loopback.

`oidc_provider` starts it once per test session, registered for the live server's callback, with the
accounts in ACCOUNTS (its own login page takes the `sub` as login, any password). `sso_settings`
points the hub at it for one test.
"""

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

SERVER = Path(__file__).resolve().parent / "oidc_provider" / "server.js"
CLIENT_ID = "hub-tests"
CLIENT_SECRET = "hub-tests-secret-0123456789abcdef"
ACCOUNTS = [
    {"sub": "ana-sub", "email": "ana@sso.example", "email_verified": True, "name": "Ana"},
    {"sub": "ben-sub", "email": "ben@sso.example", "email_verified": False, "name": "Ben"},
    {"sub": "cleo-sub", "email": "cleo@sso.example", "email_verified": True, "name": "Cleo"},
    {"sub": "dan-sub", "email": "dan@sso.example", "email_verified": True, "name": "Dan"},
    {"sub": "eve-sub", "email": "eve@sso.example", "email_verified": True, "name": "Eve"},
    {"sub": "nobody-sub", "email": "nobody@sso.example", "email_verified": True},
]


@dataclass
class Provider:
    issuer: str
    output: list[str]


@pytest.fixture(scope="session")
def oidc_provider(live_server) -> Iterator[Provider]:
    if not (SERVER.parent / "node_modules" / "oidc-provider").exists():
        pytest.fail("tests/oidc_provider is not installed: run `make test` (or npm install there)")
    env = {
        **os.environ,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        # the live server's, and the test client's (tests that need the hub's middleware changed)
        "OIDC_REDIRECT_URIS": (
            f"{live_server.url}/accounts/oidc/callback/ http://testserver/accounts/oidc/callback/"
        ),
        "OIDC_POST_LOGOUT_REDIRECT_URIS": f"{live_server.url}/",
        "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        "PORT": "0",
    }
    process = subprocess.Popen(
        ["node", str(SERVER)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()
    issuer: list[str] = []

    def read() -> None:
        for line in process.stdout:
            output.append(line.rstrip())
            if line.startswith("READY "):
                issuer.append(line.split()[1])
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(20):
        process.kill()
        pytest.fail("the OpenID provider did not start:\n" + "\n".join(output))
    try:
        yield Provider(issuer=issuer[0], output=output)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def sso_settings(settings, oidc_provider: Provider):
    """The hub configured for the provider, as the OIDC_* environment variables would."""
    from accounts import oidc

    oidc._discovery.cache_clear()
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_DISPLAY_NAME = "Test ID"
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], oidc_provider.issuer],
    }
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "accounts.oidc.HubOIDCBackend",
    ]
    yield settings
    oidc._discovery.cache_clear()


def provider_sign_in(
    browser: requests.Session, hub_url: str, login: str, start: str | None = None
) -> str:
    """Play a browser with `requests`: start single sign-on at the hub (or at `start`), sign in and
    consent on the provider's own pages if it asks, and return the hub callback URL the provider
    redirects to (not opened).
    """
    import re
    from urllib.parse import urljoin

    url = start or hub_url + "/accounts/oidc/authenticate/"
    method, data = "GET", None
    for _ in range(20):
        response = browser.request(method, url, data=data, allow_redirects=False, timeout=10)
        method, data = "GET", None
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(hub_url + "/accounts/oidc/callback/"):
                return url
            continue
        response.raise_for_status()
        action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
        assert action, response.text
        method, url = "POST", urljoin(url, action.group(1))
        if 'name="login"' in response.text:
            data = {"prompt": "login", "login": login, "password": "any password"}
        else:
            data = {"prompt": "consent"}
    raise AssertionError("the provider never redirected back to the hub")
