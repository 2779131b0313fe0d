"""Single sign-on in Chromium against a real OpenID provider (oidc-provider) on loopback."""

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from tests.factories import CompanyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_at_provider(page: Page, hub_url: str, issuer: str, login: str) -> None:
    """From the hub's sign-in page, through the provider's own login (and consent) pages."""
    page.goto(hub_url + "/accounts/login/")
    page.get_by_role("link", name="Sign in with Test ID").click()
    page.wait_for_url(issuer + "/**")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_load_state()
    if page.url.startswith(issuer):  # the consent prompt
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(hub_url + "/**")


def is_signed_in(page: Page, hub_url: str) -> bool:
    page.goto(hub_url + "/home/")
    return "/accounts/login/" not in page.url


def test_sso_signs_in_a_provisioned_user_links_the_subject_and_signs_out_everywhere(
    page: Page, live_server, oidc_provider, sso_settings
):
    user = UserFactory(email="ana@sso.example", role=Role.AGENT, first_name="Ana")
    callbacks: list[str] = []
    page.on(
        "request",
        lambda request: callbacks.append(request.url) if "/oidc/callback/" in request.url else None,
    )

    sign_in_at_provider(page, live_server.url, oidc_provider.issuer, "ana-sub")

    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    user.refresh_from_db()
    assert (user.oidc_issuer, user.oidc_subject) == (oidc_provider.issuer, "ana-sub")
    query = parse_qs(urlparse(callbacks[-1]).query)
    assert query["code"] and query["state"]

    # later sign-ins match by subject, even after the email changed here
    User.objects.filter(pk=user.pk).update(email="ana.renamed@example.com")

    page.locator("aside").get_by_role("button", name="Sign out").click()
    page.wait_for_url(oidc_provider.issuer + "/**")  # the provider's end-session page
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(
        page.get_by_role("heading", name="Every customer conversation in one fast inbox.")
    ).to_be_visible()
    assert not is_signed_in(page, live_server.url)

    # the provider session ended too: its login page asks again, and the subject still matches
    sign_in_at_provider(page, live_server.url, oidc_provider.issuer, "ana-sub")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    expect(page.locator("aside")).to_contain_text("Ana Tester")


@pytest.mark.parametrize(
    "login, setup, title",
    [
        ("nobody-sub", None, "There is no account for you here yet"),
        ("ben-sub", "unverified", "Your email address is not verified"),
        ("cleo-sub", "inactive", "This account is deactivated"),
        ("dan-sub", "company_inactive", "Your company's account is deactivated"),
    ],
)
def test_sso_refusals_explain_and_leave_no_account_and_no_session(
    page: Page, live_server, oidc_provider, sso_settings, login, setup, title
):
    if setup == "unverified":
        UserFactory(email="ben@sso.example")
    elif setup == "inactive":
        UserFactory(email="cleo@sso.example", is_active=False)
    elif setup == "company_inactive":
        UserFactory(email="dan@sso.example", company=CompanyFactory(is_active=False))
    users_before = User.objects.count()

    sign_in_at_provider(page, live_server.url, oidc_provider.issuer, login)

    expect(page.get_by_role("heading", name="You are not signed in")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(title)
    assert User.objects.count() == users_before
    assert not User.objects.exclude(oidc_subject="").exists()
    assert not is_signed_in(page, live_server.url)
