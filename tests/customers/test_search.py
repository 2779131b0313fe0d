"""Search matches what was typed, literally, whatever the case and accents (hub.search), the same
in the customer list, the start form's customer picker and the inbox."""

import pytest
from django.urls import reverse

from accounts.models import Role
from customers.models import Customer
from customers.selectors import search_customers
from hub.search import fold, parse_search
from tests.conftest import signed_in
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    CustomerFactory,
    MessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    company = CompanyFactory()
    for name, extra in [
        ("José Ramírez", {"email": "jose@example.com"}),
        ("Zoë Ångström", {}),
        ("Jane Doe", {"instagram_handle": "jane_doe"}),
        ("John Doe", {}),
        ("100% Cotton Ltd", {}),
        ("Back\\Slash", {}),
        ("Seán O’Brien", {}),
        ("Plain Person", {"phone": "+14155550123"}),
    ]:
        CustomerFactory(company=company, name=name, **extra)
    CustomerFactory(company=CompanyFactory(), name="Jose Ramirez Elsewhere")
    return company


def names(company, text: str) -> set[str]:
    return set(search_customers(company, text).values_list("name", flat=True))


@pytest.mark.parametrize(
    "typed, found",
    [
        ("Ramirez", {"José Ramírez"}),
        ("ramírez", {"José Ramírez"}),
        ("JOSE", {"José Ramírez"}),
        ("zoe angstrom", {"Zoë Ångström"}),
        ("Ångs", {"Zoë Ångström"}),
        ("jane_doe", {"Jane Doe"}),  # the handle, not John or "Jane Doe" by accident of words
        ("_", {"Jane Doe"}),
        ("%", {"100% Cotton Ltd"}),
        ("100%", {"100% Cotton Ltd"}),
        ("\\", {"Back\\Slash"}),
        ("'", {"Seán O’Brien"}),  # a typed ' finds the typographic ’
        ("o'brien", {"Seán O’Brien"}),
        ("sean", {"Seán O’Brien"}),
        ("doe", {"Jane Doe", "John Doe"}),
        ("jose@example", {"José Ramírez"}),
        ("0123", {"Plain Person"}),
        ("*", set()),
        ("a%b", set()),
        ("nobody", set()),
    ],
)
def test_typed_text_matches_literally_accents_aside(company, typed, found):
    assert names(company, typed) == found


def test_nothing_typed_is_no_filter(company):
    assert parse_search("   ") is None
    assert len(names(company, "   ")) == 8


def test_the_fold_in_python_is_the_fold_in_the_database(company):
    """The query side (Python) and the document side (SQL translate) use one table."""
    from django.db import connection

    sample = "ÀÉÎÕÜ àéîõü Çç Ññ Øø Łł Åå Ğğ Şş Ţţ Ŵŵ Ỳỳ ‘’“”–— ß Ж 中"
    with connection.cursor() as cursor:
        from hub.search import FOLD_FROM, FOLD_TO

        cursor.execute("SELECT lower(translate(%s, %s, %s))", [sample, FOLD_FROM, FOLD_TO])
        assert cursor.fetchone()[0] == fold(sample)


def test_the_customer_list_and_the_start_forms_picker_use_it(company):
    agent = UserFactory(company=company, role=Role.AGENT)
    client = signed_in(agent)
    page = client.get(reverse("customers:list"), {"q": "%"}).content.decode()
    assert "100% Cotton Ltd" in page and "Plain Person" not in page
    picker = client.get(reverse("conversations:customer-choices"), {"q": "ramirez"})
    assert "José Ramírez" in picker.content.decode()
    assert "Elsewhere" not in picker.content.decode()


def test_the_inbox_finds_messages_and_customers_the_same_way(company):
    admin = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    cotton = ConversationFactory(
        company=company, customer=Customer.objects.get(company=company, name="100% Cotton Ltd")
    )
    about_cafe = ConversationFactory(company=company)
    MessageFactory(conversation=about_cafe, content="Is the café open on Sunday? It’s urgent")
    client = signed_in(admin)

    def found(q: str) -> set[int]:
        response = client.get(reverse("conversations:inbox"), {"tab": "all", "q": q})
        return {c.pk for c in response.context["page"].rows}

    assert found("cafe") == {about_cafe.pk}
    assert found("CAFÉ open") == {about_cafe.pk}
    assert found("it's") == {about_cafe.pk}
    assert found("café,") == set()  # typed punctuation must be there
    assert found("%") == {cotton.pk}
