"""Inbox management by company admins: connect, edit, deactivate, within the channel limit.

Secrets are write-only: a blank secret field on edit keeps the stored value, and no secret is ever
returned to a page or written to a log.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.views.decorators.debug import sensitive_variables

from accounts.models import User
from companies.access import managed_company_id
from companies.models import Company
from inboxes.channels import CredentialsRejected, SendError, adapter_for_kind
from inboxes.encryption import SecretUnreadable, rotate_secrets
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


@sensitive_variables("submitted", "stored", "values", "value")
def _credentials(kind: str, submitted: dict[str, str], stored: dict[str, str]) -> dict[str, str]:
    values, missing = {}, []
    for field in adapter_for_kind(kind).credential_fields:
        value = (submitted.get(field.name) or "").strip()
        if field.is_secret and not value:
            value = stored.get(field.name, "")  # blank keeps the secret already stored
        if not value and field.required:
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


@sensitive_variables("values", "candidate")
def _check_with_provider(kind: str, values: dict[str, str]) -> str:
    """Ask the provider whether the credentials work, where its API allows it (before anything
    is locked: it is a network call). A refusal is a ValidationError on the credential at fault;
    a provider that cannot be reached now returns why, and the credentials are saved unchecked."""
    candidate = Inbox(kind=kind, credentials=values)
    try:
        adapter_for_kind(kind).check_credentials(candidate)
    except CredentialsRejected as rejected:
        field = rejected.field if rejected.field in values else NON_FIELD_ERRORS
        raise ValidationError({field: str(rejected)}) from None
    except SendError as unreachable:
        return str(unreachable)
    return ""


@sensitive_variables("credentials", "values")
def create_inbox(
    actor: User, *, company: Company, kind: str, name: str, credentials: dict[str, str]
) -> Inbox:
    """Connect a channel. The returned inbox's `unchecked_reason` says why the provider could
    not check its credentials now ("" when it did, or cannot)."""
    _check_manager(actor, company)
    if kind not in Channel.values:
        raise ValidationError({"kind": "Choose a channel."})
    name = _clean_name(name)
    values = _credentials(kind, credentials, {})
    _check_channel_limit(company)  # before asking the provider; again under the lock below
    unchecked = _check_with_provider(kind, values)
    with transaction.atomic():
        Company.objects.select_for_update().get(pk=company.pk)  # one limit check at a time
        _check_channel_limit(company)
        inbox = Inbox.objects.create(company=company, kind=kind, name=name, credentials=values)
    inbox.unchecked_reason = unchecked
    return inbox


@sensitive_variables("credentials", "values")
def update_inbox(
    actor: User, *, company: Company, inbox_id: int, name: str, credentials: dict[str, str]
) -> Inbox:
    """Rename an inbox and change its credentials (a blank secret keeps the stored one); changed
    credentials are checked with the provider first, as on connecting."""
    _check_manager(actor, company)
    name = _clean_name(name)
    stored = Inbox.objects.for_company(company).get(pk=inbox_id)
    values = _credentials(stored.kind, credentials, stored.credentials)
    unchecked = "" if values == stored.credentials else _check_with_provider(stored.kind, values)
    with transaction.atomic():
        inbox = Inbox.objects.for_company(company).select_for_update().get(pk=inbox_id)
        inbox.credentials = _credentials(inbox.kind, credentials, inbox.credentials)
        inbox.name = name
        inbox.save(update_fields=["name", "credentials", "updated_at"])
    inbox.unchecked_reason = unchecked
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


@dataclass(frozen=True)
class Rotation:
    inboxes: int
    secrets: int
    unreadable: tuple[str, ...]  # "Inbox name (id 7): access_token", for the operator


def rotate_credentials(*, progress: Callable[[str], None] = lambda line: None) -> Rotation:
    """Re-encrypt every inbox's secrets with the newest CREDENTIALS_KEY (maintenance, from
    `manage.py rotate_credentials`): one inbox at a time, row-locked, so an admin saving an inbox
    meanwhile loses nothing. An inbox a key is missing for is left as it is and named."""
    ids = list(Inbox.objects.order_by("company_id", "pk").values_list("company_id", "pk", "name"))
    inboxes = secrets_count = 0
    unreadable = []
    for done, (company_id, inbox_id, name) in enumerate(ids, start=1):
        with transaction.atomic():
            stored = (
                Inbox.objects.filter(company_id=company_id, pk=inbox_id)
                .select_for_update()
                .annotate(stored=Cast("credentials", TextField()))
                .values_list("stored", flat=True)
                .first()
            )
            if stored is None:
                continue  # deleted meanwhile
            try:
                rotated, count = rotate_secrets(json.loads(stored) or {})
            except SecretUnreadable as error:
                unreadable.append(f"{name} (id {inbox_id}): {error}")
                continue
            if count:
                Inbox.objects.filter(company_id=company_id, pk=inbox_id).update(credentials=rotated)
                inboxes, secrets_count = inboxes + 1, secrets_count + count
        if done % 100 == 0 or done == len(ids):
            progress(f"{done}/{len(ids)} inboxes checked")
    return Rotation(inboxes=inboxes, secrets=secrets_count, unreadable=tuple(unreadable))
