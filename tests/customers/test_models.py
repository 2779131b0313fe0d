import pytest
from django.db import IntegrityError, transaction

from customers.models import IDENTITY_FIELDS, Customer
from tests.factories import CompanyFactory, CustomerFactory

pytestmark = pytest.mark.django_db

IDENTITY_VALUES = {
    "phone": "+14155550100",
    "email": "maria@example.com",
    "whatsapp_number": "+14155550100",
    "instagram_handle": "maria.g",
    "facebook_id": "100004567",
}


@pytest.mark.parametrize("field", IDENTITY_FIELDS)
def test_an_identity_is_unique_within_a_company(field):
    company = CompanyFactory()
    CustomerFactory(company=company, **{field: IDENTITY_VALUES[field]})
    with (
        pytest.raises(IntegrityError, match=f"customer_company_{field}_unique"),
        transaction.atomic(),
    ):
        CustomerFactory(company=company, **{field: IDENTITY_VALUES[field]})


@pytest.mark.parametrize("field", IDENTITY_FIELDS)
def test_the_same_identity_may_exist_in_another_company(field):
    CustomerFactory(company=CompanyFactory(), **{field: IDENTITY_VALUES[field]})
    CustomerFactory(company=CompanyFactory(), **{field: IDENTITY_VALUES[field]})
    assert Customer.objects.filter(**{field: IDENTITY_VALUES[field]}).count() == 2


def test_many_customers_may_leave_an_identity_empty():
    company = CompanyFactory()
    CustomerFactory.create_batch(3, company=company, email="", phone="")
    assert Customer.objects.for_company(company).count() == 3


def test_email_identity_ignores_case():
    company = CompanyFactory()
    CustomerFactory(company=company, email="maria@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(company=company, email="Maria@Example.com")


def test_a_customer_needs_a_name():
    with pytest.raises(IntegrityError, match="customer_name_required"):
        CustomerFactory(name="")
