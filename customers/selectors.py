"""Reads of customers, always for one company."""

from django.db.models import QuerySet

from companies.models import Company
from customers.models import Customer, customer_search_vector
from hub.search import search_query


def customers_of(company: Company) -> QuerySet[Customer]:
    return Customer.objects.for_company(company).order_by("name", "id")


def search_customers(company: Company, text: str) -> QuerySet[Customer]:
    """Customers whose name or any identity starts with each typed word (full-text index)."""
    query = search_query(text)
    customers = customers_of(company)
    if query is None:
        return customers
    return customers.annotate(document=customer_search_vector()).filter(document=query)
