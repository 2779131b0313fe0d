"""Deactivation ends sessions for good, and the sign-in page says why someone was signed out."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as staff
from accounts.models import Role, User
from companies import services as platform
from tests.conftest import signed_in
from tests.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

INBOX = reverse("conversations:inbox")
LOGIN = reverse("accounts:login")


@pytest.fixture
def admin(company):
    return UserFactory(company=company, role=Role.COMPANY_ADMIN)


@pytest.fixture
def root():
    return UserFactory(company=None, role=Role.SUPER_ADMIN)


def signed_out_reason(client: Client) -> str:
    """What the sign-in page says to this browser (the reason is shown once)."""
    page = client.get(LOGIN).content.decode()
    start = page.find('id="signed-out-reason">')
    return "" if start < 0 else page[start:].split(">", 1)[1].split("<", 1)[0]


def test_a_deactivated_users_session_does_not_come_back_on_reactivation(admin, agent):
    browser = signed_in(agent)
    assert browser.get(INBOX).status_code == 200
    staff.set_staff_member_active(admin, company=agent.company, user_id=agent.pk, is_active=False)
    staff.set_staff_member_active(admin, company=agent.company, user_id=agent.pk, is_active=True)
    response = browser.get(INBOX)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in browser.session
    # a fresh sign-in works again
    assert signed_in(User.objects.get(pk=agent.pk)).get(INBOX).status_code == 200


def test_a_deactivated_companys_sessions_do_not_come_back_on_reactivation(root, agent, admin):
    browsers = [signed_in(agent), signed_in(admin)]
    platform.set_company_active(root, company_id=agent.company_id, is_active=False)
    platform.set_company_active(root, company_id=agent.company_id, is_active=True)
    for browser in browsers:
        assert browser.get(INBOX).status_code == 302
    other = UserFactory(company=CompanyFactory())
    assert signed_in(other).get(INBOX).status_code == 200  # other companies are untouched


def test_a_deactivation_in_django_admin_ends_sessions_too(root, agent):
    browser = signed_in(agent)
    data = {
        "email": agent.email,
        "first_name": agent.first_name,
        "last_name": agent.last_name,
        "role": agent.role,
        "company": agent.company_id,
        "profile_image_url": "",
        "oidc_issuer": "",
        "oidc_subject": "",
    }  # is_active left out: unticked
    response = signed_in(root).post(reverse("admin:accounts_user_change", args=[agent.pk]), data)
    assert response.status_code == 302, response.content
    User.objects.filter(pk=agent.pk).update(is_active=True)
    assert browser.get(INBOX).status_code == 302


def test_the_sign_in_page_says_the_company_was_deactivated(root, agent):
    browser = signed_in(agent)
    platform.set_company_active(root, company_id=agent.company_id, is_active=False)
    response = browser.get(INBOX, headers={"HX-Request": "true"})  # a poll
    assert response["HX-Redirect"].startswith(LOGIN)
    assert signed_out_reason(browser) == (
        "You were signed out because your company&#x27;s account was deactivated. "
        "Contact the platform administrator."
    )
    assert signed_out_reason(browser) == ""  # said once


def test_the_sign_in_page_says_the_account_was_deactivated(admin, agent):
    browser = signed_in(agent)
    staff.set_staff_member_active(admin, company=agent.company, user_id=agent.pk, is_active=False)
    assert browser.get(INBOX).status_code == 302
    assert "your account was deactivated" in signed_out_reason(browser)


def test_the_sign_in_page_says_the_session_was_ended(admin, agent):
    browser = signed_in(agent)
    User.objects.filter(pk=agent.pk).end_sessions()
    assert browser.get(INBOX).status_code == 302
    assert "an admin ended your session" in signed_out_reason(browser)


def test_a_visitor_who_never_signed_in_sees_no_reason(client):
    assert signed_out_reason(client) == ""
