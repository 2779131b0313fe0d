"""Contact details that are identities (WhatsApp number, email, phone) keep the customer's
identities in step; an inbound identity finds or creates one customer."""

import pytest
from django.core.exceptions import ValidationError

from customers.forms import CustomerForm
from customers.models import Customer, CustomerIdentity
from customers.services import customer_for_identity, save_customer
from tests.inboxes.whatsapp_helpers import whatsapp_inbox


def identities(customer: Customer) -> set[tuple[str, str]]:
    return set(CustomerIdentity.objects.filter(customer=customer).values_list("kind", "value"))


def test_saving_contact_details_adds_their_identities(company, company_admin):
    customer = save_customer(
        company_admin,
        company_id=company.pk,
        customer_id=None,
        fields={
            "name": "Ana",
            "whatsapp_number": "+15551234567",
            "email": "ana@example.com",
            "phone": "+15557654321",
        },
    )
    assert identities(customer) == {
        ("wa_id", "15551234567"),
        ("email", "ana@example.com"),
        ("phone", "+15557654321"),
    }


def test_a_changed_number_moves_its_identity_and_a_cleared_one_removes_it(company, company_admin):
    customer = save_customer(
        company_admin,
        company_id=company.pk,
        customer_id=None,
        fields={"name": "Ana", "whatsapp_number": "+15551234567", "email": "ana@example.com"},
    )
    save_customer(
        company_admin,
        company_id=company.pk,
        customer_id=customer.pk,
        fields={"whatsapp_number": "+15550000000", "email": ""},
    )
    assert identities(customer) == {("wa_id", "15550000000")}


def test_a_number_another_customer_wrote_in_from_is_named(company, company_admin):
    inbox = whatsapp_inbox(company)
    first = customer_for_identity(inbox, value="15551234567", name="Wrote In")
    first.whatsapp_number = ""  # their contact column cleared by hand: the identity remains
    first.save()
    with pytest.raises(ValidationError) as taken:
        save_customer(
            company_admin,
            company_id=company.pk,
            customer_id=None,
            fields={"name": "Typed", "whatsapp_number": "+15551234567"},
        )
    assert "Wrote In already has" in str(taken.value)


def test_an_inbound_identity_with_or_without_plus_is_one_customer(company):
    inbox = whatsapp_inbox(company)
    one = customer_for_identity(inbox, value="15551234567", name="Ana")
    assert customer_for_identity(inbox, value="+1 555 123 4567") == one
    assert one.whatsapp_number == "+15551234567"
    assert Customer.objects.count() == 1


def test_an_inbound_identity_finds_a_customer_known_only_by_contact_column(company):
    known = Customer.objects.create(company=company, name="Known", whatsapp_number="+15551234567")
    inbox = whatsapp_inbox(company)
    assert customer_for_identity(inbox, value="15551234567", name="Ana") == known
    assert identities(known) == {("wa_id", "15551234567")}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("whatsapp_number", "0555"),
        ("phone", "12345"),
        ("facebook_id", "abc"),
        ("instagram_handle", "a b"),
    ],
)
def test_the_form_checks_contact_details_as_their_channel_says(field, value):
    form = CustomerForm({"name": "X", field: value})
    assert not form.is_valid()
    assert field in form.errors
