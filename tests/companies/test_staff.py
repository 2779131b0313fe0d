"""Staff management by company admins: limits, roles, the last admin, deactivation, links."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Role, User
from tests.conftest import signed_in
from tests.factories import PASSWORD, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    return CompanyFactory(max_users=3)


@pytest.fixture
def admin(company):
    return UserFactory(company=company, role=Role.COMPANY_ADMIN, email="boss@example.com")


def create(admin, company, email="new@example.com", role=Role.AGENT):
    return services.create_staff_member(
        admin, company=company, email=email, first_name="New", last_name="Person", role=role
    )


def test_an_admin_adds_an_agent_who_sets_a_password_from_the_emailed_link(admin, company):
    client = signed_in(admin)
    response = client.post(
        reverse("companies:staff-create"),
        {
            "email": "Agent.One@Example.com",
            "first_name": "Agent",
            "last_name": "One",
            "role": "agent",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="agent.one@example.com")
    assert (user.company, user.role, user.has_usable_password()) == (company, Role.AGENT, False)
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    path = link.split("testserver", 1)[1]
    visitor = Client()
    form_page = visitor.get(path, follow=True)
    assert b"Choose your password" in form_page.content
    done = visitor.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"},
    )
    assert done.status_code == 302
    assert Client().login(username="agent.one@example.com", password="a-long-new-passphrase")


def test_the_user_limit_is_enforced_with_a_clear_message(admin, company):
    create(admin, company, "a@example.com")
    create(admin, company, "b@example.com")
    with pytest.raises(ValidationError, match="reached its 3-user limit"):
        create(admin, company, "c@example.com")
    response = signed_in(admin).post(
        reverse("companies:staff-create"),
        {"email": "c@example.com", "first_name": "C", "role": "agent"},
    )
    assert response.status_code == 422
    assert b"reached its 3-user limit. Raise the limit or deactivate a user." in response.content


def test_nobody_grants_super_admin(admin, company):
    with pytest.raises(ValidationError):
        create(admin, company, role=Role.SUPER_ADMIN)
    response = signed_in(admin).post(
        reverse("companies:staff-create"),
        {"email": "x@example.com", "first_name": "X", "role": "super_admin"},
    )
    assert response.status_code == 422
    assert not User.objects.filter(email="x@example.com").exists()


def test_a_duplicate_email_is_a_form_error(admin, company):
    UserFactory(email="taken@example.com")
    with pytest.raises(ValidationError, match="already signs in"):
        create(admin, company, "TAKEN@example.com")


def test_an_agent_cannot_manage_staff(company):
    agent = UserFactory(company=company, role=Role.AGENT)
    with pytest.raises(PermissionDenied):
        create(agent, company)
    assert signed_in(agent).get(reverse("companies:staff")).status_code == 403


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(admin, company):
    with pytest.raises(ValidationError, match="last active admin"):
        services.update_staff_member(
            admin, company=company, user_id=admin.pk, first_name="B", last_name="", role="agent"
        )
    other = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    # with two admins, one may step down
    services.update_staff_member(
        other, company=company, user_id=admin.pk, first_name="B", last_name="", role="agent"
    )
    root = UserFactory(company=None, role=Role.SUPER_ADMIN)
    with pytest.raises(ValidationError, match="last active admin"):
        services.set_staff_member_active(root, company=company, user_id=other.pk, is_active=False)
    other.refresh_from_db()
    assert other.is_active and other.is_company_admin


def test_deactivation_ends_the_session_and_reactivation_counts_against_the_limit(admin, company):
    agent = UserFactory(company=company, role=Role.AGENT)
    agent_client = signed_in(agent)
    assert agent_client.get(reverse("conversations:inbox")).status_code == 200
    response = signed_in(admin).post(
        reverse("companies:staff-active", args=[agent.pk]), {"active": "0"}, follow=True
    )
    assert b"deactivated; their open sessions have ended" in response.content
    assert agent_client.get(reverse("conversations:inbox")).status_code == 302
    create(admin, company, "a@example.com")
    create(admin, company, "b@example.com")  # now 3 active: the limit
    with pytest.raises(ValidationError, match="user limit"):
        services.set_staff_member_active(admin, company=company, user_id=agent.pk, is_active=True)


def test_another_companys_people_and_super_admins_are_404(admin, company):
    outsider = UserFactory(company=CompanyFactory(), role=Role.AGENT)
    root = UserFactory(company=None, role=Role.SUPER_ADMIN)
    client = signed_in(admin)
    for person in (outsider, root):
        assert client.get(reverse("companies:staff-edit", args=[person.pk])).status_code == 404
        assert (
            client.post(
                reverse("companies:staff-active", args=[person.pk]), {"active": "0"}
            ).status_code
            == 404
        )
        assert client.post(reverse("companies:staff-link", args=[person.pk])).status_code == 404
        person.refresh_from_db()
        assert person.is_active


def test_the_staff_list_shows_usage_against_the_limit(admin, company):
    UserFactory(company=company, role=Role.AGENT, email="ana@example.com")
    response = signed_in(admin).get(reverse("companies:staff"))
    assert response.status_code == 200
    assert b"2 of 3 active users" in response.content
    assert b"ana@example.com" in response.content


def test_sign_in_still_works_for_existing_password_users(admin):
    assert Client().login(username=admin.email, password=PASSWORD)
