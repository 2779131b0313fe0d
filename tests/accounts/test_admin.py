"""Users in Django admin: Django's own add form and password page work with our User."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from tests.conftest import signed_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def root():
    return UserFactory(company=None, role=Role.SUPER_ADMIN)


def test_a_super_admin_sets_a_users_password_and_signs_them_out(root, agent):
    browser = signed_in(agent)
    admin = signed_in(root)
    change = admin.get(reverse("admin:accounts_user_change", args=[agent.pk]))
    assert change.status_code == 200
    password_page = reverse("admin:auth_user_password_change", args=[agent.pk])
    assert b'href="../password/"' in change.content
    assert admin.get(password_page).status_code == 200
    response = admin.post(
        password_page,
        {"password1": "set-by-the-platform", "password2": "set-by-the-platform"},
    )
    assert response.status_code == 302
    assert Client().login(username=agent.email, password="set-by-the-platform")
    assert not Client().login(username=agent.email, password=PASSWORD)
    assert browser.get(reverse("conversations:inbox")).status_code == 302


def test_a_super_admin_adds_a_user_with_or_without_a_password(root, company):
    admin = signed_in(root)
    common = {"first_name": "Ana", "last_name": "Lima", "role": "agent", "company": company.pk}
    response = admin.post(
        reverse("admin:accounts_user_add"),
        {
            **common,
            "email": "Ana.Lima@Example.com",
            "usable_password": "true",
            "password1": "first-password-here",
            "password2": "first-password-here",
        },
    )
    assert response.status_code == 302
    assert Client().login(username="ana.lima@example.com", password="first-password-here")
    response = admin.post(
        reverse("admin:accounts_user_add"),
        {**common, "email": "bo@example.com", "usable_password": "false"},
    )
    assert response.status_code == 302
    assert not User.objects.get(email="bo@example.com").has_usable_password()
    taken = admin.post(
        reverse("admin:accounts_user_add"),
        {**common, "email": "ANA.LIMA@example.com", "usable_password": "false"},
    )
    assert taken.status_code == 200
    assert b"Someone already signs in with this email." in taken.content


def test_an_agent_without_a_company_is_a_form_error_not_a_500(root):
    response = signed_in(root).post(
        reverse("admin:accounts_user_add"),
        {"email": "lost@example.com", "role": "agent", "usable_password": "false"},
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="lost@example.com").exists()
