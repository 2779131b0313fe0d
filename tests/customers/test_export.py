"""The CSV export is safe to open in a spreadsheet, and an exported file imports back as it was."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Role
from customers.models import Customer
from hub.spreadsheet import protect, unprotect
from tests.conftest import signed_in
from tests.factories import CompanyFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

FORMULA_STARTS = set("=+-@\t\r")
NAMES = [
    '=HYPERLINK("http://evil.example","Click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\tTabbed",
    "\rReturn",
    "'=already quoted",
    "''double",
    "'Tis the season",
    "O'Brien",
    "Plain Name",
]


def export(client) -> list[list[str]]:
    response = client.get(reverse("customers:export"))
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_no_exported_cell_starts_like_a_formula():
    company = CompanyFactory()
    for name in NAMES:
        CustomerFactory(company=company, name=name)
    CustomerFactory(company=company, name="Mail", email="=1+1@x.example", phone="+14155550100")
    rows = export(signed_in(UserFactory(company=company, role=Role.AGENT)))
    cells = [cell for row in rows[1:] for cell in row]
    assert cells and not [cell for cell in cells if cell[:1] in FORMULA_STARTS]
    by_name = {unprotect(row[0]): row for row in rows[1:]}
    assert by_name["Mail"][1:3] == ["'=1+1@x.example", "'+14155550100"]
    assert by_name['=HYPERLINK("http://evil.example","Click")'][0].startswith("'=")
    assert by_name["'Tis the season"][0] == "'Tis the season"  # nothing to neutralize


@pytest.mark.parametrize("value", [*NAMES, "", "'", "'+", "-", "x=1"])
def test_protect_and_unprotect_give_back_the_value(value):
    assert unprotect(protect(value)) == value
    assert protect(value)[:1] not in FORMULA_STARTS


def test_an_exported_file_imports_back_with_the_same_values():
    source = CompanyFactory()
    names = [name for name in NAMES if name.strip() == name]  # the import trims spaces
    for n, name in enumerate(names):
        CustomerFactory(
            company=source,
            name=name,
            email=f"=user{n}@x.example",
            phone=f"+1415555{n:04d}",
            instagram_handle=f"handle_{n}",
            is_vip=n % 2 == 0,
        )
    target = CompanyFactory()
    admin = signed_in(UserFactory(company=target, role=Role.COMPANY_ADMIN))
    upload = SimpleUploadedFile("customers.csv", _csv_bytes(source), "text/csv")
    preview = admin.post(reverse("customers:import"), {"file": upload})
    assert preview.status_code == 200, preview.content.decode()[-2000:]
    assert admin.post(reverse("customers:import"), {"confirm": "1"}).status_code == 302
    fields = ("name", "email", "phone", "instagram_handle", "is_vip")

    def values(company) -> list[tuple]:
        return sorted(Customer.objects.filter(company=company).values_list(*fields))

    assert len(values(source)) == len(names) and values(target) == values(source)


def _csv_bytes(company) -> bytes:
    """The export of `company`, byte for byte, as a download would save it."""
    client = signed_in(UserFactory(company=company, role=Role.AGENT))
    return b"".join(client.get(reverse("customers:export")).streaming_content)
