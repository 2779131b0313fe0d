"""'Forgot your password?': an email with a link, the same answer for any address, throttled."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

RESET = reverse("accounts:password-reset")
SENT = reverse("accounts:password-reset-sent")


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def ask(email: str, client: Client | None = None, address: str = "10.1.1.1"):
    return (client or Client()).post(RESET, {"email": email}, REMOTE_ADDR=address)


def link_in(message) -> str:
    return re.search(r"https?://testserver(\S+)", message.body).group(1)


def test_a_user_gets_a_link_and_chooses_a_new_password(agent):
    response = ask(agent.email.upper())
    assert (response.status_code, response["Location"]) == (302, SENT)
    assert [m.to for m in mail.outbox] == [[agent.email]]
    browser = Client()
    form = browser.get(link_in(mail.outbox[0]), follow=True)
    assert b"Choose your password" in form.content
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
        follow=True,
    )
    assert b"Your password is saved. Sign in with it." in done.content
    assert Client().login(username=agent.email, password="a-brand-new-passphrase")
    assert not Client().login(username=agent.email, password=PASSWORD)
    # the link works once
    again = Client().get(link_in(mail.outbox[0]), follow=True)
    assert b"This link has expired or was already used" in again.content


def test_an_unknown_or_deactivated_address_gets_the_same_answer_and_no_email(agent):
    known = ask(agent.email)
    mail.outbox.clear()
    unknown = ask("nobody@example.com")
    inactive = UserFactory(is_active=False)
    closed = UserFactory()
    closed.company.is_active = False
    closed.company.save()
    answers = [known, unknown, ask(inactive.email), ask(closed.email)]
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, SENT)}
    assert mail.outbox == []
    page = Client().get(SENT)
    assert b"If that address belongs to an account here" in page.content


def test_requests_are_throttled_per_email_and_per_network_address(settings, agent):
    settings.PASSWORD_RESET_EMAILS_PER_HOUR = 2
    settings.PASSWORD_RESET_REQUESTS_PER_HOUR = 4
    for address in ("10.0.0.1", "10.0.0.2"):
        assert ask(agent.email, address=address).status_code == 302
    refused = ask(agent.email, address="10.0.0.3")
    assert refused.status_code == 429
    assert b"Too many password reset requests" in refused.content
    assert len(mail.outbox) == 2
    # one address asking for many accounts is stopped too
    for n in range(4):
        assert ask(f"someone{n}@example.com", address="10.9.9.9").status_code == 302
    assert ask("someone-else@example.com", address="10.9.9.9").status_code == 429


def test_a_user_without_a_password_yet_can_use_it(company):
    User.objects.create_user("invited@example.com", None, company=company)
    ask("invited@example.com")
    assert [m.to for m in mail.outbox] == [["invited@example.com"]]


def test_there_is_no_password_reset_when_password_sign_in_is_off(settings):
    settings.PASSWORD_SIGN_IN = False
    settings.OIDC_RP_CLIENT_ID = "hub"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://id.example.com/auth"
    assert Client().get(RESET).status_code == 404
    assert b"Forgot your password?" not in Client().get(reverse("accounts:login")).content


def test_the_sign_in_page_links_to_it(client):
    assert f'href="{RESET}"'.encode() in client.get(reverse("accounts:login")).content
