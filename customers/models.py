"""Customers of a company and the channel identities that find them when they write in."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Concat, Lower, Reverse

from companies.models import CompanyOwned, tenant_foreign_key
from hub.search import searchable

# Each identity is unique within a company where set, so an inbound message finds one customer.
IDENTITY_FIELDS = ("phone", "email", "whatsapp_number", "instagram_handle", "facebook_id")


def _identity_unique(field: str) -> models.UniqueConstraint:
    expression = Lower(field) if field in {"email", "instagram_handle"} else models.F(field)
    return models.UniqueConstraint(
        "company",
        expression,
        condition=~Q(**{field: ""}),
        name=f"customer_company_{field}_unique",
        violation_error_message=f"Another customer of this company already has this {field}.",
    )


def _digits(field: str) -> Func:
    return Func(F(field), Value(r"\D"), Value(""), Value("g"), function="regexp_replace")


def customer_search_text() -> Concat:
    """A customer's name and every channel identity, in one text (what a search looks in)."""
    fields = ("name", *IDENTITY_FIELDS)
    parts = [part for field in fields for part in (F(field), Value(" "))]
    return Concat(*parts[:-1], output_field=models.TextField())


def customer_search_vector() -> SearchVector:
    """The full-text document a customer is found by (hub.search): the words of the name and of
    every identity, accents folded, and phone digits forwards and reversed (so the last digits
    of a number find it too)."""
    return SearchVector(
        searchable(customer_search_text()),
        _digits("phone"),
        Reverse(_digits("phone")),
        _digits("whatsapp_number"),
        Reverse(_digits("whatsapp_number")),
        config="simple",
    )


class Customer(CompanyOwned):
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    whatsapp_number = models.CharField(max_length=32, blank=True)
    instagram_handle = models.CharField(max_length=64, blank=True)
    facebook_id = models.CharField(max_length=64, blank=True)
    is_vip = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(CompanyOwned.Meta):
        ordering = ["name", "id"]
        constraints = [
            *(_identity_unique(field) for field in IDENTITY_FIELDS),
            models.CheckConstraint(condition=~Q(name=""), name="customer_name_required"),
        ]
        indexes = [
            # search by name or any identity: search_document(...) @@ query AND company_id = ?
            GinIndex(customer_search_vector(), name="customer_search_idx"),
            # customer list: WHERE company_id = ? ORDER BY name, id
            models.Index(fields=["company", "name", "id"], name="customer_company_name_idx"),
            # VIP filter: WHERE company_id = ? AND is_vip ORDER BY name, id
            models.Index(
                fields=["company", "name", "id"],
                condition=Q(is_vip=True),
                name="customer_company_vip_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerIdentity(CompanyOwned):
    """How a channel addresses a customer (a WhatsApp wa_id, a Messenger page-scoped id, an email
    address...): inbound messages find their customer here, by normalized value. Ids that a
    provider scopes to one page or account carry that inbox."""

    class Kind(models.TextChoices):
        WHATSAPP = "wa_id", "WhatsApp ID"
        MESSENGER = "psid", "Messenger ID"
        INSTAGRAM = "igsid", "Instagram ID"
        EMAIL = "email", "Email address"
        PHONE = "phone", "Phone number"

    customer = tenant_foreign_key(Customer, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind)
    # set for ids scoped to one page or account (Messenger PSIDs, Instagram IGSIDs)
    inbox = tenant_foreign_key("inboxes.Inbox", optional=True, on_delete=models.CASCADE)
    value = models.CharField(max_length=320)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(CompanyOwned.Meta):
        constraints = [
            # one customer per identity: an inbound message finds exactly one
            models.UniqueConstraint(
                fields=["company", "kind", "inbox", "value"],
                nulls_distinct=False,
                name="identity_company_kind_inbox_value_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["wa_id", "psid", "igsid", "email", "phone"]),
                name="identity_kind_valid",
            ),
        ]
        indexes = [
            # a customer's identities: WHERE company_id = ? AND customer_id = ?
            models.Index(
                fields=["company", "customer", "id"], name="identity_company_customer_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}"
