"""CSV import of customers: read and check every row first (a preview), then import all rows in one
transaction, or none when any row is bad. Cells the export protected from spreadsheets (a quote
before =, +, -, @...) are read back as the values they stand for (hub.spreadsheet)."""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower

from accounts.models import User
from companies.access import managed_company_id
from customers.forms import CustomerForm
from customers.models import IDENTITY_FIELDS, Customer
from customers.services import add_contact_identities
from hub.spreadsheet import unprotect

MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
CASE_INSENSITIVE = {"email", "instagram_handle"}  # as the unique keys on Customer compare them
COLUMNS = ("name", "email", "phone", "whatsapp_number", "instagram_handle", "facebook_id", "is_vip")


@dataclass
class ImportPreview:
    rows: list[dict[str, object]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def is_valid(self) -> bool:
        return bool(self.rows) and not self.errors


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "yes", "true", "y", "vip", "x"}


def _key(identity: str, value: str) -> str:
    return value.lower() if identity in CASE_INSENSITIVE else value


def _identities_in_use(company_id: int, rows: list[dict[str, object]]) -> dict[str, dict[str, str]]:
    """For each identity, the file's values another customer of the company already has (value
    -> that customer's name): one indexed look-up per identity for the file's values only."""
    in_use: dict[str, dict[str, str]] = {}
    for identity in IDENTITY_FIELDS:
        wanted = {_key(identity, row[identity]) for row in rows if row[identity]}
        if not wanted:
            in_use[identity] = {}
            continue
        column = Lower(identity) if identity in CASE_INSENSITIVE else F(identity)
        in_use[identity] = dict(
            Customer.objects.for_company(company_id)
            .annotate(key=column)
            .filter(key__in=wanted)
            .values_list("key", "name")
        )
    return in_use


def read_customer_csv(company_id: int, content: bytes) -> ImportPreview:
    """Check every row: the form's rules, identities unique within the file and the company."""
    preview = ImportPreview()
    if len(content) > MAX_BYTES:
        preview.errors.append((0, "The file is larger than 5 MB. Split it and import the parts."))
        return preview
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        preview.errors.append(
            (0, "The file is not UTF-8 text. Save it as CSV UTF-8 and try again.")
        )
        return preview
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _check_rows(company_id, reader, preview)
    except csv.Error as error:
        # a field past csv's limit (an unclosed quote swallows the rest of the file) or a
        # malformed line: say where, import nothing
        preview.rows.clear()
        preview.errors.append(
            (
                reader.reader.line_num,  # the line being read (DictReader's own lags behind)
                f"This line cannot be read as CSV ({error}). Check for an unclosed quote.",
            )
        )
        return preview


def _check_rows(company_id: int, reader: csv.DictReader, preview: ImportPreview) -> ImportPreview:
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in headers:
        preview.errors.append(
            (
                1,
                f"The first line must name the columns, with at least 'name'. Known columns: {', '.join(COLUMNS)}.",
            )
        )
        return preview
    reader.fieldnames = headers
    parsed: list[tuple[int, dict[str, object]]] = []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            preview.errors.append((line, f"More than {MAX_ROWS:,} rows: split the file."))
            break
        data = {column: unprotect((raw.get(column) or "").strip()) for column in COLUMNS}
        form = CustomerForm({**data, "is_vip": _truthy(data["is_vip"])})
        if not form.is_valid():
            for name, messages in form.errors.items():
                label = "row" if name == "__all__" else name
                preview.errors.append((line, f"{label}: {messages[0]}"))
            continue
        parsed.append((line, form.cleaned_data))
    in_use = _identities_in_use(company_id, [row for _, row in parsed])
    seen: dict[tuple[str, str], int] = {}
    for line, row in parsed:
        for identity in IDENTITY_FIELDS:
            value = row[identity]
            if not value:
                continue
            key = _key(identity, value)
            if key in in_use[identity]:
                preview.errors.append(
                    (line, f"{identity}: {in_use[identity][key]} already has {value}.")
                )
            elif (identity, key) in seen:
                preview.errors.append(
                    (line, f"{identity}: {value} is also on line {seen[(identity, key)]}.")
                )
            else:
                seen[(identity, key)] = line
        preview.rows.append(row)
    preview.errors.sort(key=lambda error: error[0])  # by line, as the file reads
    if not preview.rows and not preview.errors:
        preview.errors.append((2, "The file has no customer rows."))
    return preview


def import_customers(actor: User, *, company_id: int, content: bytes) -> int:
    """Import every row, or none: the file is checked again, then inserted in one transaction."""
    company_id = managed_company_id(
        actor, company_id, refusal="Only this company's admins import customers."
    )
    preview = read_customer_csv(company_id, content)
    if not preview.is_valid:
        raise ValidationError([f"Line {line}: {reason}" for line, reason in preview.errors])
    try:
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [Customer(company_id=company_id, **row) for row in preview.rows], batch_size=1000
            )
            add_contact_identities(customers)
    except IntegrityError as error:  # someone saved a clashing customer meanwhile
        raise ValidationError(
            "A customer with one of these details was just saved. Check the file again."
        ) from error
    return len(preview.rows)
