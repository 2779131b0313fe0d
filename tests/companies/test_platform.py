"""Super admins run companies: create with a first admin, plan and limits, deactivate."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from companies.models import Company
from tests.conftest import signed_in
from tests.factories import PASSWORD, CompanyFactory, InboxFactory, UserFactory

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


def plan_of(company: Company) -> tuple[str, int, int]:
    company.refresh_from_db()
    return company.subscription_plan, company.max_users, company.max_channels


def test_choosing_a_plan_sets_its_limits(root):
    client = signed_in(root)
    response = client.post(
        reverse("analytics:company-create"),
        {**NEW, "subscription_plan": "enterprise", "max_users": "", "max_channels": ""},
    )
    assert response.status_code == 302
    company = Company.objects.get(slug="initech")
    assert plan_of(company) == ("enterprise", 250, 50)
    # the edit form shows blank limits (the plan's); a downgrade takes the new plan's limits
    form = client.get(reverse("analytics:company-edit", args=[company.pk])).context["form"]
    assert form["max_users"].value() is None and form["max_channels"].value() is None
    client.post(
        reverse("analytics:company-edit", args=[company.pk]),
        {"subscription_plan": "pro", "max_users": "", "max_channels": ""},
    )
    assert plan_of(company) == ("pro", 25, 10)


def test_a_super_admin_may_still_override_a_plans_limits(root):
    company = CompanyFactory()
    client = signed_in(root)
    client.post(
        reverse("analytics:company-edit", args=[company.pk]),
        {"subscription_plan": "pro", "max_users": "40", "max_channels": ""},
    )
    assert plan_of(company) == ("pro", 40, 10)
    form = client.get(reverse("analytics:company-edit", args=[company.pk])).context["form"]
    assert form["max_users"].value() == 40 and form["max_channels"].value() is None


def test_a_limit_below_what_the_company_uses_is_refused(root):
    company = CompanyFactory(subscription_plan="pro", max_users=25, max_channels=10)
    UserFactory.create_batch(6, company=company)
    UserFactory(company=company, is_active=False)  # deactivated people do not count
    InboxFactory.create_batch(4, company=company)
    response = signed_in(root).post(
        reverse("analytics:company-edit", args=[company.pk]),
        {"subscription_plan": "basic", "max_users": "", "max_channels": "2"},
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["max_users"] == [
        f"{company.name} has 6 active users. Set a user limit of at least 6, "
        "or deactivate users first."
    ]
    assert errors["max_channels"] == [
        f"{company.name} has 4 active inboxes. Set an inbox limit of at least 4, "
        "or deactivate inboxes first."
    ]
    assert plan_of(company) == ("pro", 25, 10)  # nothing saved
    # the same rule in Django admin
    response = signed_in(root).post(
        reverse("admin:companies_company_change", args=[company.pk]),
        {
            "name": company.name,
            "slug": company.slug,
            "subscription_plan": "pro",
            "is_active": "on",
            "max_users": "3",
            "max_channels": "10",
        },
    )
    assert response.status_code == 200
    assert b"has 6 active users" in response.content
    assert plan_of(company) == ("pro", 25, 10)


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
