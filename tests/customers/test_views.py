"""Customers: agents read, company admins write; identity conflicts name the customer; CSV."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import Role
from customers.models import Customer
from tests.conftest import signed_in
from tests.factories import CompanyFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    return CompanyFactory()


@pytest.fixture
def admin(company):
    return UserFactory(company=company, role=Role.COMPANY_ADMIN)


@pytest.fixture
def agent(company):
    return UserFactory(company=company, role=Role.AGENT)


def test_agents_read_and_admins_write(agent, admin, company):
    CustomerFactory(company=company, name="Readable Person")
    assert b"Readable Person" in signed_in(agent).get(reverse("customers:list")).content
    assert signed_in(agent).get(reverse("customers:create")).status_code == 403
    response = signed_in(admin).post(
        reverse("customers:create"), {"name": "New Person", "phone": "+14155550123", "is_vip": "on"}
    )
    assert response.status_code == 302
    assert Customer.objects.get(company=company, name="New Person").is_vip


def test_an_identity_already_used_names_the_customer_who_has_it(admin, company):
    CustomerFactory(company=company, name="Maria Garcia", email="maria@example.com")
    response = signed_in(admin).post(
        reverse("customers:create"), {"name": "Someone Else", "email": "MARIA@example.com"}
    )
    assert response.status_code == 422
    assert b"Maria Garcia already has this email" in response.content
    assert Customer.objects.filter(company=company).count() == 1


def test_phone_numbers_must_be_e164(admin):
    response = signed_in(admin).post(
        reverse("customers:create"), {"name": "X", "phone": "0155 1234"}
    )
    assert response.status_code == 422
    assert b"international format" in response.content


def test_search_uses_the_index_and_is_scoped(agent, company):
    CustomerFactory(company=company, name="Quentin Ours", phone="+14155550999")
    CustomerFactory(company=CompanyFactory(), name="Quentin Theirs")
    response = signed_in(agent).get(reverse("customers:list"), {"q": "0999"})
    assert b"Quentin Ours" in response.content and b"Quentin Theirs" not in response.content


def test_csv_export_follows_the_filter(agent, company):
    CustomerFactory(company=company, name="Vera Vip", is_vip=True, email="vera@example.com")
    CustomerFactory(company=company, name="Norm Normal")
    response = signed_in(agent).get(reverse("customers:export"), {"vip": "1"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "name"
    assert [row[0] for row in rows[1:]] == ["Vera Vip"]


def test_another_companys_customer_is_a_404(admin):
    foreign = CustomerFactory(company=CompanyFactory())
    assert signed_in(admin).get(reverse("customers:edit", args=[foreign.pk])).status_code == 404
    response = signed_in(admin).post(
        reverse("customers:edit", args=[foreign.pk]), {"name": "Hacked"}
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.name != "Hacked"
