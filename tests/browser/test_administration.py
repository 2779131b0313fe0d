"""Company and platform admins run the hub from the browser, error paths included."""

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from companies.models import Company
from customers.models import Customer
from hub.demo import DEMO_PASSWORD, SUPER_ADMIN_EMAIL
from tests.browser.conftest import sign_in_with_password as sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_user_limit_reached_when_adding_staff(page: Page, live_server, demo):
    Company.objects.filter(slug="acme").update(max_users=5)
    sign_in(page, live_server.url, "admin@acme.example")
    page.locator("aside").get_by_role("link", name="Staff").click()
    expect(page.get_by_text("4 of 5 active users")).to_be_visible()
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Email").fill("dana@acme.example")
    page.get_by_label("First name").fill("Dana")
    page.get_by_role("button", name="Add and send link").click()
    expect(page.get_by_text("dana@acme.example was added")).to_be_visible()
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Email").fill("eli@acme.example")
    page.get_by_label("First name").fill("Eli")
    page.get_by_role("button", name="Add and send link").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "reached its 5-user limit. Raise the limit or deactivate a user."
    )


def test_duplicate_customer_identity_names_the_customer(page: Page, live_server, demo):
    sign_in(page, live_server.url, "admin@acme.example")
    page.goto(live_server.url + "/customers/new/")
    page.get_by_label("Name").fill("Someone New")
    page.get_by_label("Email").fill("maria.garcia@mail.example")
    page.locator("main").get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Maria Garcia already has this email.")
    expect(page.get_by_label("Name")).to_have_value("Someone New")


def test_a_csv_with_bad_rows_is_reported_and_not_imported(page: Page, live_server, demo, tmp_path):
    before = Customer.objects.count()
    bad = tmp_path / "customers.csv"
    bad.write_text(
        "name,email,phone\nGood Row,good@example.com,+14155550111\n,x@example.com,\nBad Phone,bp@example.com,555\n"
    )
    sign_in(page, live_server.url, "admin@acme.example")
    page.goto(live_server.url + "/customers/")
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    errors = page.locator("[data-import-errors] li")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("Line 3")
    expect(errors.nth(1)).to_contain_text("Line 4")
    expect(page.get_by_role("alert")).to_contain_text("nothing was imported")
    assert Customer.objects.count() == before


def test_inbox_limit_reached(page: Page, live_server, demo):
    Company.objects.filter(slug="acme").update(max_channels=5)
    sign_in(page, live_server.url, "admin@acme.example")
    page.locator("aside").get_by_role("link", name="Inboxes").click()
    expect(page.get_by_text("5 of 5 active inboxes")).to_be_visible()
    page.get_by_role("link", name="Connect a channel").first.click()
    page.get_by_role("link", name="Phone / SMS").click()
    page.get_by_label("Name").fill("Second line")
    page.get_by_label("Twilio account SID").fill("AC123")
    page.get_by_label("Phone number").fill("+14155550100")
    page.get_by_label("Auth token").fill("secret-token")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "reached its 5-inbox limit. Raise the limit or deactivate an inbox."
    )


def test_a_deactivated_company_cannot_sign_in(browser, page: Page, live_server, demo):
    agent = browser.new_context().new_page()
    sign_in(agent, live_server.url, "ana@acme.example")
    sign_in(page, live_server.url, SUPER_ADMIN_EMAIL)
    row = page.locator("tr").filter(has_text="Acme Outfitters")
    row.get_by_text("Deactivate…").click()
    row.get_by_role("button", name="Yes, deactivate").click()
    expect(page.get_by_text("Acme Outfitters was deactivated")).to_be_visible()
    agent.goto(live_server.url + "/inbox/")
    expect(agent.get_by_role("heading", name="Sign in to your workspace")).to_be_visible()
    expect(agent.get_by_role("status")).to_have_text(
        "You were signed out because your company's account was deactivated. "
        "Contact the platform administrator."
    )
    agent.get_by_label("Email").fill("ana@acme.example")
    agent.get_by_label("Password").fill(DEMO_PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.get_by_role("alert")).to_contain_text("company's account is deactivated")
    agent.context.close()


def test_a_good_csv_shows_progress_and_imports_every_row(page: Page, live_server, demo, tmp_path):
    good = tmp_path / "customers.csv"
    rows = "".join(f"Person {i},person{i}@example.com,\n" for i in range(300))
    good.write_text("name,email,is_vip\n" + rows)
    sign_in(page, live_server.url, "admin@acme.example")

    def check_the_file() -> None:
        page.goto(live_server.url + "/customers/import/")
        page.get_by_label("CSV file").set_input_files(str(good))
        page.get_by_role("button", name="Check the file").click()
        expect(page.get_by_text("300 customers ready to import")).to_be_visible()

    check_the_file()
    # first a submission the page itself cancels, to look at the page while it would work
    page.evaluate("document.addEventListener('submit', (event) => event.preventDefault())")
    page.get_by_role("button", name="Import 300 customers").click()
    expect(page.get_by_role("status").filter(has_text="Importing 300 customers")).to_be_visible()
    expect(page.get_by_role("button", name="Import 300 customers")).to_be_disabled()
    assert not Customer.objects.filter(email__startswith="person").exists()
    check_the_file()  # a fresh page, without the cancelling listener
    page.get_by_role("button", name="Import 300 customers").click()
    expect(page.get_by_text("Imported 300 customers.")).to_be_visible()
    assert Customer.objects.filter(email__startswith="person").count() == 300


def test_an_admin_resets_a_colleagues_password_which_signs_them_out(
    browser, page: Page, live_server, demo
):
    colleague = browser.new_context().new_page()
    sign_in(colleague, live_server.url, "ben@acme.example")
    sign_in(page, live_server.url, "admin@acme.example")
    page.locator("aside").get_by_role("link", name="Staff").click()
    row = page.locator('tr[data-member="ben@acme.example"]')
    expect(row.get_by_role("button", name="Resend invitation")).to_have_count(0)
    row.get_by_text("Reset password…").click()
    row.get_by_role("button", name="Yes, reset and sign out").click()
    expect(page.get_by_role("status")).to_contain_text(
        "ben@acme.example was signed out and emailed a link to choose a new password."
    )
    assert "/accounts/set-password/" not in page.content()  # the link is in Ben's mail only
    assert mail.outbox[-1].to == ["ben@acme.example"]
    colleague.reload()
    expect(colleague.get_by_role("heading", name="Sign in to your workspace")).to_be_visible()
    colleague.context.close()


@pytest.mark.parametrize("path", ["/system/", "/system/companies/new/"])
def test_the_platform_pages_fit_a_phone(browser, live_server, demo, path):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    sign_in(phone, live_server.url, SUPER_ADMIN_EMAIL)
    phone.goto(live_server.url + path)
    assert phone.evaluate("document.documentElement.scrollWidth") == 390  # no sideways panning
    context.close()
