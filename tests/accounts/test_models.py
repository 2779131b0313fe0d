import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction

from accounts.models import Role, User
from tests.factories import PASSWORD, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_agent_without_a_company_is_refused_by_the_database():
    with pytest.raises(IntegrityError, match="user_company_required_unless_super_admin"):
        User.objects.create_user("lonely@example.com", PASSWORD, role=Role.AGENT)


def test_a_company_admin_without_a_company_is_refused_by_the_database():
    with pytest.raises(IntegrityError, match="user_company_required_unless_super_admin"):
        User.objects.create_user("boss@example.com", PASSWORD, role=Role.COMPANY_ADMIN)


def test_a_super_admin_belongs_to_no_company():
    company = CompanyFactory()
    with pytest.raises(IntegrityError, match="user_company_required_unless_super_admin"):
        User.objects.create_user(
            "root@example.com", PASSWORD, role=Role.SUPER_ADMIN, company=company
        )


def test_a_super_admin_without_a_company_is_accepted():
    user = User.objects.create_superuser("root@example.com", PASSWORD)
    assert user.role == Role.SUPER_ADMIN
    assert user.company is None


def test_an_unknown_role_is_refused_by_the_database():
    company = CompanyFactory()
    with pytest.raises(IntegrityError, match="user_role_valid"):
        User.objects.create_user("x@example.com", PASSWORD, role="owner", company=company)


def test_email_is_unique_ignoring_case_even_past_the_orm():
    company = CompanyFactory()
    UserFactory(email="ana@example.com", company=company)
    # bulk_create skips save(), so the lower-casing there cannot hide a missing constraint
    with pytest.raises(IntegrityError, match="user_email_ci_unique"), transaction.atomic():
        User.objects.bulk_create(
            [User(email="ANA@Example.COM", role=Role.AGENT, company=company, password="x")]
        )


def test_emails_are_stored_lower_case():
    user = UserFactory(email="Mixed.Case@Example.COM")
    user.refresh_from_db()
    assert user.email == "mixed.case@example.com"


def test_sign_in_ignores_the_case_of_the_email():
    UserFactory(email="ben@example.com")
    assert authenticate(username="BEN@example.com", password=PASSWORD) is not None
    assert authenticate(username="ben@example.com", password="wrong") is None


def test_users_of_a_deactivated_company_cannot_sign_in():
    user = UserFactory(email="cara@example.com")
    user.company.is_active = False
    user.company.save()
    assert authenticate(username="cara@example.com", password=PASSWORD) is None


def test_a_deactivated_user_cannot_sign_in():
    UserFactory(email="dan@example.com", is_active=False)
    assert authenticate(username="dan@example.com", password=PASSWORD) is None


def test_only_active_super_admins_count_as_django_admin_staff():
    company = CompanyFactory()
    assert not UserFactory(role=Role.AGENT, company=company).is_staff
    assert not UserFactory(role=Role.COMPANY_ADMIN, company=company).is_staff
    assert UserFactory(role=Role.SUPER_ADMIN, company=None).is_staff
    assert not UserFactory(role=Role.SUPER_ADMIN, company=None, is_active=False).is_staff
