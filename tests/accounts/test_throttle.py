"""Password sign-in is throttled (django-axes): failures lock one account from one address."""

import pytest
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins for this account from your address. Try again in 15 minutes."


@pytest.fixture(autouse=True)
def throttling(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


def sign_in(client: Client, email: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address
    )


def test_repeated_failures_lock_the_account_from_that_address_with_a_clear_message(agent):
    client = Client()
    for _ in range(4):
        response = sign_in(client, agent.email, "wrong")
        assert response.status_code == 200
        assert "That email and password do not match" in response.content.decode()
    locked = sign_in(client, agent.email, "wrong")
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    # the right password does not get through while locked
    locked = sign_in(client, agent.email, PASSWORD)
    assert locked.status_code == 429
    assert LOCKED in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # the same account from another address, and another account from this address, still work
    assert sign_in(Client(), agent.email, PASSWORD, address="10.0.0.2").status_code == 302
    other = UserFactory(company=agent.company)
    assert sign_in(Client(), other.email, PASSWORD).status_code == 302


def test_a_success_resets_the_count(agent):
    client = Client()
    for _ in range(4):
        sign_in(client, agent.email, "wrong")
    assert sign_in(client, agent.email, PASSWORD).status_code == 302
    client = Client()
    for _ in range(4):
        assert sign_in(client, agent.email, "wrong").status_code == 200
    assert sign_in(client, agent.email, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(agent, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    client = Client()
    for _ in range(5):
        sign_in(client, agent.email, "wrong")
    assert sign_in(client, agent.email, PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert sign_in(client, agent.email, PASSWORD).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_single_sign_on_refusals_do_not_lock_out_single_sign_on(live_server, sso_settings):
    """SSO failures carry no username: they must not add up to a lockout of every SSO user."""
    import requests

    from tests.oidc_fixtures import provider_sign_in

    UserFactory(email="ana@sso.example")
    for _ in range(6):
        browser = requests.Session()
        refused = browser.get(provider_sign_in(browser, live_server.url, "nobody-sub"), timeout=10)
        assert refused.status_code == 403
    browser = requests.Session()
    response = browser.get(
        provider_sign_in(browser, live_server.url, "ana-sub"), allow_redirects=False, timeout=10
    )
    assert response.status_code == 302 and "/home/" in response.headers["Location"]


@pytest.mark.parametrize(
    "spelling",
    [
        lambda email: email.upper(),
        lambda email: email.title(),
        lambda email: f"  {email.capitalize()}  ",
        # PostgreSQL's UPPER() folds a dotless ı to I, so sign-in matches this spelling too
        lambda email: email.replace("i", "ı"),
    ],
    ids=["upper", "title", "spaces", "dotless-i"],
)
def test_failures_count_per_account_whatever_the_spelling_of_its_address(spelling):
    user = UserFactory(email="lisa.miller@example.com")
    client = Client()
    for _ in range(4):
        assert sign_in(client, user.email, "wrong").status_code == 200
    # another spelling of the same address gets no fresh attempts...
    locked = sign_in(client, spelling(user.email), "wrong")
    assert locked.status_code == 429
    # ...and the right password in another spelling neither signs in nor clears the lockout
    assert sign_in(client, spelling(user.email), PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    assert sign_in(client, user.email, PASSWORD).status_code == 429


def test_a_success_in_another_spelling_resets_the_count_of_the_account(agent):
    client = Client()
    for _ in range(4):
        sign_in(client, agent.email, "wrong")
    assert sign_in(client, agent.email.upper(), PASSWORD).status_code == 302
    client = Client()
    for _ in range(4):
        assert sign_in(client, agent.email, "wrong").status_code == 200
