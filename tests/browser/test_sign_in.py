"""Each role signs in on the demo data in Chromium, lands on its home page and signs out."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from hub.demo import DEMO_PASSWORD, SUPER_ADMIN_EMAIL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base_url + "/")
    page.get_by_role("link", name="Sign in to your workspace").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.locator("aside").get_by_role("button", name="Sign out").click()
    expect(
        page.get_by_role("heading", name="Every customer conversation in one fast inbox.")
    ).to_be_visible()


@pytest.mark.parametrize(
    "email, heading, proof",
    [
        ("ana@acme.example", "Inbox", "Unassigned"),
        ("admin@acme.example", "Acme Outfitters", "Conversations by status"),
        (SUPER_ADMIN_EMAIL, "System overview", "Globex Travel"),
    ],
)
def test_each_role_signs_in_sees_its_home_and_signs_out(
    page: Page, live_server, demo, email, heading, proof
):
    sign_in(page, live_server.url, email)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text(proof).first).to_be_visible()
    # the stylesheet was served and applied (the sidebar is dark, not browser default white)
    sidebar = page.locator("aside")
    assert (
        sidebar.evaluate("e => getComputedStyle(e).backgroundColor") == "oklch(0.208 0.042 265.755)"
    )
    sign_out(page)
    page.goto(live_server.url + "/home/")
    expect(page.get_by_role("heading", name="Sign in to your workspace")).to_be_visible()


def test_a_wrong_password_is_refused_with_a_clear_message(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ana@acme.example", password="not-the-password")
    expect(page.get_by_role("alert")).to_contain_text("That email and password do not match")
    expect(page.get_by_label("Email")).to_have_value("ana@acme.example")


def test_an_agent_cannot_open_django_admin(page: Page, live_server, demo):
    sign_in(page, live_server.url, "ben@acme.example")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    response = page.goto(live_server.url + "/admin/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="You do not have access to this page")).to_be_visible()


def test_the_super_admin_reaches_django_admin(page: Page, live_server, demo):
    sign_in(page, live_server.url, SUPER_ADMIN_EMAIL)
    page.get_by_role("link", name="Manage companies").click()
    expect(page.get_by_role("link", name="Acme Outfitters")).to_be_visible()


def test_on_a_phone_the_menu_opens_by_keyboard_and_signs_out(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    sign_in(phone, live_server.url, "admin@acme.example")
    expect(phone.get_by_role("heading", name="Acme Outfitters")).to_be_visible()
    expect(phone.locator("aside")).to_be_hidden()
    menu = phone.get_by_label("Open menu")
    menu.focus()
    phone.keyboard.press("Enter")
    phone.locator("header").get_by_role("button", name="Sign out").click()
    expect(phone.get_by_role("link", name="Sign in to your workspace")).to_be_visible()
    context.close()


def test_a_forgotten_password_is_reset_from_an_emailed_link(
    page: Page, live_server, demo, settings
):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    page.get_by_label("Email").fill("Ana@Acme.example")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a-fresh-passphrase-9")
    page.get_by_label("New password confirmation").fill("a-fresh-passphrase-9")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password is saved. Sign in with it.")).to_be_visible()
    page.get_by_label("Email").fill("ana@acme.example")
    page.get_by_label("Password").fill("a-fresh-passphrase-9")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
