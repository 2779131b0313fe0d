"""Changes to customers, checked against the acting user's company."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from companies.access import acting_company_id, managed_company_id
from conversations.models import Conversation
from customers.models import IDENTITY_FIELDS, Customer


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
    try:
        with transaction.atomic():
            customer.save()
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
        for name, value in fields.items():
            setattr(customer, name, value)
        if not customer.name.strip():
            raise ValidationError({"name": "Enter the customer's name."})
        _check_identities_free(company_id, customer)
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError as error:
            raise ValidationError(
                "Another customer was just saved with one of these details."
            ) from error
    return customer
