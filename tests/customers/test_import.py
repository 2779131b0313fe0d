"""CSV import: a preview that reports every bad row by line, then all rows or none."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from companies.access import NotFound
from customers.importing import import_customers
from customers.models import Customer
from tests.conftest import signed_in
from tests.factories import CompanyFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD = b"name,email,phone,is_vip\nAda Lovelace,ada@example.com,+441234567890,yes\nAlan Turing,alan@example.com,,\n"
BAD = (
    b"name,email,phone\n"
    b"Ada Lovelace,ada@example.com,+441234567890\n"
    b",nobody@example.com,\n"
    b"Grace Hopper,grace@example.com,12345\n"
    b"Ada Twin,ADA@example.com,\n"
    b"Maria Again,maria@example.com,\n"
)


@pytest.fixture
def admin():
    return UserFactory(role=Role.COMPANY_ADMIN)


def upload(client, content: bytes):
    return client.post(
        reverse("customers:import"), {"file": SimpleUploadedFile("c.csv", content, "text/csv")}
    )


def test_a_good_file_is_previewed_then_imported(admin):
    client = signed_in(admin)
    preview = upload(client, GOOD)
    assert preview.status_code == 200
    assert b"2 customers ready to import" in preview.content
    assert not Customer.objects.exists()  # nothing until confirmed
    done = client.post(reverse("customers:import"), {"confirm": "1"})
    assert done.status_code == 302
    ada = Customer.objects.get(company=admin.company, email="ada@example.com")
    assert ada.is_vip and ada.phone == "+441234567890"
    assert Customer.objects.filter(company=admin.company).count() == 2


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported(admin):
    CustomerFactory(company=admin.company, name="Maria Garcia", email="maria@example.com")
    response = upload(signed_in(admin), BAD)
    assert response.status_code == 422
    html = response.content.decode()
    assert "Line 3:</span> name: This field is required." in html
    assert "Line 4:</span> phone: Use the international format" in html
    assert "Line 5:</span> email: ada@example.com is also on line 2." in html
    assert "Line 6:</span> email: Maria Garcia already has maria@example.com." in html
    assert Customer.objects.filter(company=admin.company).count() == 1
    # a confirm without a good preview imports nothing
    signed_in(admin).post(reverse("customers:import"), {"confirm": "1"})
    assert Customer.objects.filter(company=admin.company).count() == 1


def test_a_file_without_a_name_column_or_not_utf8_is_refused_clearly(admin):
    client = signed_in(admin)
    assert b"at least &#x27;name&#x27;" in upload(client, b"email\nx@example.com\n").content
    assert b"not UTF-8" in upload(client, "name\nJos\xe9\n".encode("latin-1")).content


def test_agents_cannot_import_and_an_import_lands_in_the_importers_company_only():
    """(This test once uploaded without confirming, which imports nothing anywhere: it could not
    fail. Now the other company's admin imports for real.)"""
    agent = UserFactory(role=Role.AGENT)
    agent_client = signed_in(agent)
    assert upload(agent_client, GOOD).status_code == 403
    assert agent_client.post(reverse("customers:import"), {"confirm": "1"}).status_code == 403
    other_admin = UserFactory(role=Role.COMPANY_ADMIN, company=CompanyFactory())
    client = signed_in(other_admin)
    assert upload(client, GOOD).status_code == 200
    assert client.post(reverse("customers:import"), {"confirm": "1"}).status_code == 302
    assert Customer.objects.filter(company=other_admin.company).count() == 2
    assert not Customer.objects.filter(company=agent.company).exists()


def test_an_admin_cannot_import_into_another_company():
    admin = UserFactory(role=Role.COMPANY_ADMIN)
    other = CompanyFactory()
    with pytest.raises(NotFound):
        import_customers(admin, company_id=other.pk, content=GOOD)
    assert not Customer.objects.filter(company=other).exists()


def test_a_field_longer_than_csv_allows_is_reported_with_its_line_not_a_500(admin):
    content = (
        b"name,email\nAda Lovelace,ada@example.com\n" + b'"' + b"x" * 140_000 + b'",b@example.com\n'
    )
    response = upload(signed_in(admin), content)
    assert response.status_code == 422
    assert b"Line 3:</span> This line cannot be read as CSV" in response.content
    assert b"cannot be read as CSV" in response.content
    assert not Customer.objects.exists()
