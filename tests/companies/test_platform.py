"""Super admins run companies: create with a first admin, plan and limits, deactivate."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from companies.models import Company
from tests.conftest import signed_in
from tests.factories import PASSWORD, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Initech",
    "slug": "initech",
    "subscription_plan": "pro",
    "max_users": "10",
    "max_channels": "4",
    "admin_email": "Bill@Initech.example",
    "admin_first_name": "Bill",
}


@pytest.fixture
def root():
    return UserFactory(company=None, role=Role.SUPER_ADMIN)


def test_a_company_is_created_with_its_first_admin_in_one_step(root):
    response = signed_in(root).post(reverse("analytics:company-create"), NEW)
    assert response.status_code == 302
    company = Company.objects.get(slug="initech")
    admin = User.objects.get(email="bill@initech.example")
    assert (admin.company, admin.role, company.max_users) == (company, Role.COMPANY_ADMIN, 10)
    assert "bill@initech.example" in mail.outbox[-1].to


def test_nothing_is_created_when_the_admin_email_is_taken(root):
    UserFactory(email="bill@initech.example")
    response = signed_in(root).post(reverse("analytics:company-create"), NEW)
    assert response.status_code == 422
    assert b"already signs in with this email" in response.content
    assert not Company.objects.filter(slug="initech").exists()


def test_plan_and_limits_change(root):
    company = CompanyFactory()
    response = signed_in(root).post(
        reverse("analytics:company-edit", args=[company.pk]),
        {"subscription_plan": "enterprise", "max_users": "50", "max_channels": "20"},
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.subscription_plan, company.max_users, company.max_channels) == (
        "enterprise",
        50,
        20,
    )


def test_deactivating_a_company_signs_its_people_out_and_refuses_sign_in(root):
    agent = UserFactory(role=Role.AGENT)
    agent_client = signed_in(agent)
    assert agent_client.get(reverse("conversations:inbox")).status_code == 200
    signed_in(root).post(
        reverse("analytics:company-active", args=[agent.company_id]), {"active": "0"}
    )
    assert agent_client.get(reverse("conversations:inbox")).status_code == 302
    refused = Client().post(
        reverse("accounts:login"), {"username": agent.email, "password": PASSWORD}
    )
    assert b"company&#x27;s account is deactivated" in refused.content
    signed_in(root).post(
        reverse("analytics:company-active", args=[agent.company_id]), {"active": "1"}
    )
    assert Client().login(username=agent.email, password=PASSWORD)


def test_company_admins_cannot_reach_platform_pages():
    admin = UserFactory(role=Role.COMPANY_ADMIN)
    client = signed_in(admin)
    assert client.get(reverse("analytics:company-create")).status_code == 403
    assert (
        client.post(
            reverse("analytics:company-active", args=[admin.company_id]), {"active": "0"}
        ).status_code
        == 403
    )
    admin.company.refresh_from_db()
    assert admin.company.is_active
