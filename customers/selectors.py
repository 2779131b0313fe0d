"""Reads of customers, always for one company."""

from django.db.models import QuerySet

from companies.models import Company
from customers.models import Customer, customer_search_text, customer_search_vector
from hub.search import parse_search


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
