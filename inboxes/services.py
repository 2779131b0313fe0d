"""Inbox management by company admins: connect, edit, deactivate, within the channel limit.

Secrets are write-only: a blank secret field on edit keeps the stored value, and no secret is ever
returned to a page or written to a log.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from companies.access import managed_company_id
from companies.models import Company
from inboxes.channels import adapter_for_kind
from inboxes.models import Channel, Inbox


def _check_manager(actor: User, company: Company) -> None:
    """NotFound outside the actor's company; PermissionDenied for its agents."""
    managed_company_id(actor, company, refusal="Only this company's admins manage its inboxes.")


def _check_channel_limit(company: Company) -> None:
    active = Inbox.objects.for_company(company).filter(is_active=True).count()
    if active >= company.max_channels:
        raise ValidationError(
            f"This company has reached its {company.max_channels}-inbox limit. "
            "Raise the limit or deactivate an inbox."
        )


def _credentials(kind: str, submitted: dict[str, str], stored: dict[str, str]) -> dict[str, str]:
    values, missing = {}, []
    for field in adapter_for_kind(kind).credential_fields:
        value = (submitted.get(field.name) or "").strip()
        if field.is_secret and not value:
            value = stored.get(field.name, "")  # blank keeps the secret already stored
        if not value:
            missing.append(field.name)
        values[field.name] = value
    if missing:
        raise ValidationError(dict.fromkeys(missing, "Fill this in to connect the channel."))
    return values


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the inbox a name your agents will recognise."})
    limit = Inbox._meta.get_field("name").max_length
    if len(name) > limit:
        raise ValidationError({"name": f"Keep the name to {limit} characters."})
    return name


def create_inbox(
    actor: User, *, company: Company, kind: str, name: str, credentials: dict[str, str]
) -> Inbox:
    _check_manager(actor, company)
    if kind not in Channel.values:
        raise ValidationError({"kind": "Choose a channel."})
    name = _clean_name(name)
    values = _credentials(kind, credentials, {})
    with transaction.atomic():
        Company.objects.select_for_update().get(pk=company.pk)  # one limit check at a time
        _check_channel_limit(company)
        return Inbox.objects.create(company=company, kind=kind, name=name, credentials=values)


def update_inbox(
    actor: User, *, company: Company, inbox_id: int, name: str, credentials: dict[str, str]
) -> Inbox:
    _check_manager(actor, company)
    name = _clean_name(name)
    with transaction.atomic():
        inbox = Inbox.objects.for_company(company).select_for_update().get(pk=inbox_id)
        inbox.credentials = _credentials(inbox.kind, credentials, inbox.credentials)
        inbox.name = name
        inbox.save(update_fields=["name", "credentials", "updated_at"])
    return inbox


def set_inbox_active(actor: User, *, company: Company, inbox_id: int, is_active: bool) -> Inbox:
    """Deactivated inboxes stop receiving (their webhooks refuse) and free a place in the limit."""
    _check_manager(actor, company)
    with transaction.atomic():
        Company.objects.select_for_update().get(pk=company.pk)
        inbox = Inbox.objects.for_company(company).select_for_update().get(pk=inbox_id)
        if inbox.is_active != is_active:
            if is_active:
                _check_channel_limit(company)
            inbox.is_active = is_active
            inbox.save(update_fields=["is_active", "updated_at"])
    return inbox
