"""Changes to customers, checked against the acting user's company."""

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from companies.access import acting_company_id, managed_company_id
from conversations.models import Conversation
from customers.models import IDENTITY_FIELDS, Customer, CustomerIdentity

if TYPE_CHECKING:
    from inboxes.models import Inbox


def _contact_identities() -> list[tuple[str, str, "object"]]:
    """(contact column, identity kind, adapter) for each channel whose contact detail is an
    identity on its own (WhatsApp number, email, phone; not page-scoped ids)."""
    from inboxes.channels import all_adapters

    return [
        (adapter.contact_field, adapter.identity_kind, adapter)
        for adapter in all_adapters()
        if not adapter.identity_is_inbox_scoped
    ]


def _check_identity_free(company_id: int, customer: Customer) -> None:
    """The identity a contact detail stands for may belong to another customer already (one
    who wrote in before): name them."""
    errors = {}
    for field, kind, adapter in _contact_identities():
        value = adapter.identity_for_contact(getattr(customer, field) or "")
        if not value:
            continue
        owner = (
            CustomerIdentity.objects.filter(
                company_id=company_id, kind=kind, inbox__isnull=True, value=value
            )
            .exclude(customer_id=customer.pk)
            .select_related("customer")
            .first()
        )
        if owner is not None:
            label = Customer._meta.get_field(field).verbose_name
            errors[field] = f"{owner.customer.name} already has this {label}."
    if errors:
        raise ValidationError(errors)


def _sync_identities(customer: Customer, previous: dict[str, str]) -> None:
    """Keep the identities of the contact details in step with them: a changed WhatsApp number,
    email or phone moves its identity; a cleared one removes it."""
    for field, kind, adapter in _contact_identities():
        old = adapter.identity_for_contact(previous.get(field, "") or "")
        new = adapter.identity_for_contact(getattr(customer, field) or "")
        if old == new:
            continue
        if old:
            CustomerIdentity.objects.filter(
                company_id=customer.company_id,
                customer_id=customer.pk,
                kind=kind,
                inbox__isnull=True,
                value=old,
            ).delete()
        if new:
            CustomerIdentity.objects.get_or_create(
                company_id=customer.company_id,
                customer_id=customer.pk,
                kind=kind,
                inbox=None,
                value=new,
            )


def add_contact_identities(customers: list[Customer]) -> None:
    """The identities of new customers' contact details, in one INSERT (an import)."""
    CustomerIdentity.objects.bulk_create(
        [
            CustomerIdentity(
                company_id=customer.company_id,
                customer_id=customer.pk,
                kind=kind,
                value=value,
            )
            for customer in customers
            for field, kind, adapter in _contact_identities()
            if (value := adapter.identity_for_contact(getattr(customer, field) or ""))
        ],
        batch_size=1000,
    )


def customer_for_identity(inbox: "Inbox", *, value: str, name: str = "") -> Customer:
    """The customer an inbound identity names (normalized by the inbox's adapter, so wa_id
    15551234567 and +15551234567 are one person), created on first contact. Safe under races:
    two deliveries from a new number at once make one customer."""
    from inboxes.channels import adapter_for

    adapter = adapter_for(inbox)
    normalized = adapter.normalize_identity(value)
    if not normalized:
        raise ValidationError("The delivery names no sender.")
    scope = inbox.pk if adapter.identity_is_inbox_scoped else None
    identities = CustomerIdentity.objects.filter(
        company_id=inbox.company_id, kind=adapter.identity_kind, inbox_id=scope, value=normalized
    ).select_related("customer")
    contact = adapter.contact_for_identity(normalized)
    for _attempt in range(3):
        found = identities.first()
        if found is not None:
            return found.customer
        try:
            with transaction.atomic():
                customer = _customer_with_contact(inbox.company_id, adapter.contact_field, contact)
                if customer is None:
                    customer = Customer.objects.create(
                        company_id=inbox.company_id,
                        name=(name.strip() or contact)[:200],
                        **{adapter.contact_field: contact[:32]},
                    )
                CustomerIdentity.objects.create(
                    company_id=inbox.company_id,
                    customer=customer,
                    kind=adapter.identity_kind,
                    inbox_id=scope,
                    value=normalized,
                )
                return customer
        except IntegrityError:
            continue  # another delivery created them first: read theirs
    raise IntegrityError(f"Could not find or create the customer of {adapter.identity_kind}.")


def _customer_with_contact(company_id: int, field: str, contact: str) -> Customer | None:
    """A customer whose contact detail is this identity but who has no identity row yet."""
    if not contact:
        return None
    return Customer.objects.for_company(company_id).filter(**{field: contact}).first()


def _check_identities_free(company_id: int, customer: Customer) -> None:
    """A channel identity belongs to one customer per company: name the one that has it."""
    errors = {}
    for field in IDENTITY_FIELDS:
        value = getattr(customer, field)
        if not value:
            continue
        lookup = f"{field}__iexact" if field in {"email", "instagram_handle"} else field
        owner = (
            Customer.objects.for_company(company_id)
            .filter(**{lookup: value})
            .exclude(pk=customer.pk)
            .first()
        )
        if owner is not None:
            label = Customer._meta.get_field(field).verbose_name
            errors[field] = f"{owner.name} already has this {label}."
    if errors:
        raise ValidationError(errors)


def create_customer(user: User, *, company_id: int, name: str, **identities: object) -> Customer:
    company_id = acting_company_id(user, company_id)
    customer = Customer(company_id=company_id, name=name.strip(), **identities)
    if not customer.name:
        raise ValidationError({"name": "Enter the customer's name."})
    _check_identities_free(company_id, customer)
    _check_identity_free(company_id, customer)
    try:
        with transaction.atomic():
            customer.save()
            _sync_identities(customer, {})
    except IntegrityError as error:  # a concurrent create took the identity first
        raise ValidationError(
            "Another customer was just saved with one of these details."
        ) from error
    return customer


def update_customer_profile(
    user: User, *, company_id: int, customer_id: int, name: str, is_vip: bool
) -> Customer:
    """Name and VIP flag, edited from the inbox's customer panel."""
    company_id = acting_company_id(user, company_id)
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter the customer's name."})
    if len(name) > Customer._meta.get_field("name").max_length:
        raise ValidationError({"name": "Keep the name under 200 characters."})
    with transaction.atomic():
        customer = Customer.objects.for_company(company_id).select_for_update().get(pk=customer_id)
        customer.name = name
        customer.is_vip = is_vip
        customer.save(update_fields=["name", "is_vip", "updated_at"])
        # their conversations show the name: tell every open list and chat to refresh
        Conversation.objects.for_company(company_id).filter(customer=customer).update(
            updated_at=timezone.now()
        )
    return customer


def _check_editor(actor: User, company_id: int) -> int:
    return managed_company_id(
        actor, company_id, refusal="Only this company's admins change customers."
    )


def save_customer(
    actor: User, *, company_id: int, customer_id: int | None, fields: dict[str, object]
) -> Customer:
    """Create (customer_id None) or update a customer; an identity another customer of the
    company already has is an error that names that customer."""
    company_id = _check_editor(actor, company_id)
    if customer_id is None:
        return create_customer(actor, company_id=company_id, **fields)
    with transaction.atomic():
        customer = Customer.objects.for_company(company_id).select_for_update().get(pk=customer_id)
        previous = {field: getattr(customer, field) for field in IDENTITY_FIELDS}
        for name, value in fields.items():
            setattr(customer, name, value)
        if not customer.name.strip():
            raise ValidationError({"name": "Enter the customer's name."})
        _check_identities_free(company_id, customer)
        _check_identity_free(company_id, customer)
        try:
            with transaction.atomic():
                customer.save()
                _sync_identities(customer, previous)
        except IntegrityError as error:
            raise ValidationError(
                "Another customer was just saved with one of these details."
            ) from error
    return customer
