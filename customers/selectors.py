"""Reads of customers, always for one company."""

from django.db.models import QuerySet

from companies.models import Company
from customers.models import Customer


def customers_of(company: Company) -> QuerySet[Customer]:
    return Customer.objects.for_company(company).order_by("name", "id")
