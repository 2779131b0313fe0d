"""Reads of inboxes, always for one company."""

from django.db.models import QuerySet

from companies.models import Company
from inboxes.models import Inbox


def inboxes_of(company: Company) -> QuerySet[Inbox]:
    return Inbox.objects.for_company(company).order_by("name", "id")
