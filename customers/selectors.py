"""Reads of customers, always for one company."""

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from companies.models import Company
from customers.models import (
    Customer,
    CustomerIdentity,
    customer_search_text,
    customer_search_vector,
)
from hub.search import parse_search

if TYPE_CHECKING:
    from inboxes.models import Inbox


def customers_of(company: Company) -> QuerySet[Customer]:
    return Customer.objects.for_company(company).order_by("name", "id")


def search_customers(company: Company, text: str) -> QuerySet[Customer]:
    """Customers whose name or any identity has a word starting with each typed word, accents
    aside, and contains each typed piece with punctuation as typed (hub.search)."""
    search = parse_search(text)
    customers = customers_of(company)
    if search is None:
        return customers
    return search.apply(customers, document=customer_search_vector(), text=customer_search_text())


def identity_for(customer: Customer, inbox: "Inbox") -> str:
    """How `inbox`'s channel addresses `customer` (their wa_id, page-scoped id, email...), or ""
    when it has no identity for them: the recipient of an outbound message."""
    from inboxes.channels import adapter_for

    adapter = adapter_for(inbox)
    identities = CustomerIdentity.objects.filter(
        company_id=customer.company_id, customer_id=customer.pk, kind=adapter.identity_kind
    )
    if adapter.identity_is_inbox_scoped:
        identities = identities.filter(inbox_id=inbox.pk)
    value = identities.order_by("-id").values_list("value", flat=True).first()
    return value or ""
