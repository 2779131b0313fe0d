"""Company admins connect inboxes: credentials per kind, write-only secrets, the channel limit."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from inboxes import services
from inboxes.models import Inbox
from tests.conftest import signed_in
from tests.factories import CompanyFactory, InboxFactory, UserFactory

pytestmark = pytest.mark.django_db

WHATSAPP = {
    "name": "Support WhatsApp",
    "phone_number_id": "1234567890",
    "business_account_id": "998877",
    "access_token": "EAAG-very-secret-token",
    "app_secret": "app-secret-value",
}


@pytest.fixture
def company():
    return CompanyFactory(max_channels=2)


@pytest.fixture
def admin(company):
    return UserFactory(company=company, role=Role.COMPANY_ADMIN)


def test_connecting_shows_the_webhook_and_never_the_secrets_again(admin, company):
    client = signed_in(admin)
    response = client.post(
        reverse("inboxes:create") + "?kind=whatsapp", {"kind": "whatsapp", **WHATSAPP}
    )
    assert response.status_code == 302
    inbox = Inbox.objects.get(company=company)
    assert inbox.credentials["access_token"] == "EAAG-very-secret-token"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert f"/webhooks/whatsapp/{company.pk}-{inbox.webhook_key}/" in html
    assert inbox.verify_token in html
    assert "EAAG-very-secret-token" not in html and "app-secret-value" not in html
    assert "1234567890" in html  # non-secret fields are shown


def test_a_blank_secret_keeps_the_stored_one_on_edit(admin, company):
    inbox = services.create_inbox(
        admin, company=company, kind="whatsapp", name="WA", credentials=WHATSAPP
    )
    response = signed_in(admin).post(
        reverse("inboxes:edit", args=[inbox.pk]),
        {**WHATSAPP, "name": "Renamed", "access_token": "", "app_secret": ""},
    )
    assert response.status_code == 302
    inbox.refresh_from_db()
    assert inbox.name == "Renamed"
    assert inbox.credentials["access_token"] == "EAAG-very-secret-token"


def test_missing_fields_are_form_errors_and_nothing_is_stored(admin, company):
    response = signed_in(admin).post(
        reverse("inboxes:create"), {"kind": "phone", "name": "Phones", "account_sid": "AC1"}
    )
    assert response.status_code == 422
    assert b"Fill this in to connect the channel." in response.content
    assert not Inbox.objects.exists()


def test_the_channel_limit_is_enforced_with_a_clear_message(admin, company):
    for n in range(2):
        services.create_inbox(
            admin, company=company, kind="whatsapp", name=f"WA {n}", credentials=WHATSAPP
        )
    response = signed_in(admin).post(reverse("inboxes:create"), {"kind": "whatsapp", **WHATSAPP})
    assert response.status_code == 422
    assert b"reached its 2-inbox limit. Raise the limit or deactivate an inbox." in response.content
    first = Inbox.objects.filter(company=company).first()
    services.set_inbox_active(admin, company=company, inbox_id=first.pk, is_active=False)
    services.create_inbox(
        admin, company=company, kind="whatsapp", name="WA 3", credentials=WHATSAPP
    )
    with pytest.raises(ValidationError, match="inbox limit"):
        services.set_inbox_active(admin, company=company, inbox_id=first.pk, is_active=True)


def test_another_companys_inbox_is_a_404(admin):
    foreign = InboxFactory(company=CompanyFactory())
    client = signed_in(admin)
    assert client.get(reverse("inboxes:edit", args=[foreign.pk])).status_code == 404
    assert (
        client.post(reverse("inboxes:active", args=[foreign.pk]), {"active": "0"}).status_code
        == 404
    )
    foreign.refresh_from_db()
    assert foreign.is_active


def test_company_settings_rename_and_show_usage(admin, company):
    client = signed_in(admin)
    page = client.get(reverse("companies:settings"))
    assert f"of {company.max_channels}".encode() in page.content
    assert client.post(reverse("companies:settings"), {"name": "  "}).status_code == 422
    assert client.post(reverse("companies:settings"), {"name": "Renamed Co"}).status_code == 302
    company.refresh_from_db()
    assert company.name == "Renamed Co"


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("name", "x" * 201, b"at most 200 characters"),
        ("name", "Support\x00line", b"Null characters are not allowed"),
        ("phone_number_id", "12\x0034", b"Null characters are not allowed"),
        ("access_token", "tok\x00en", b"Null characters are not allowed"),
    ],
)
def test_an_overlong_name_or_a_nul_byte_is_a_form_error_not_a_500(admin, field, value, reason):
    client = signed_in(admin)
    response = client.post(
        reverse("inboxes:create"), {"kind": "whatsapp", **WHATSAPP, field: value}
    )
    assert response.status_code == 422
    assert reason in response.content
    assert not Inbox.objects.exists()
    inbox = services.create_inbox(
        admin, company=admin.company, kind="whatsapp", name="Kept", credentials=WHATSAPP
    )
    response = client.post(reverse("inboxes:edit", args=[inbox.pk]), {**WHATSAPP, field: value})
    assert response.status_code == 422
    inbox.refresh_from_db()
    assert (inbox.name, inbox.credentials) == (
        "Kept",
        {k: v for k, v in WHATSAPP.items() if k != "name"},
    )


def test_the_inbox_service_refuses_an_overlong_name_from_any_caller(admin):
    with pytest.raises(ValidationError, match="200 characters"):
        services.create_inbox(
            admin, company=admin.company, kind="whatsapp", name="x" * 201, credentials=WHATSAPP
        )


def test_company_settings_refuse_a_nul_byte_and_save_who_reads_what(admin, company):
    client = signed_in(admin)
    response = client.post(reverse("companies:settings"), {"name": "Bad\x00name"})
    assert response.status_code == 422
    assert b"Null characters are not allowed" in response.content
    company.refresh_from_db()
    assert company.name != "Bad\x00name" and company.agents_see_all_conversations
    page = client.get(reverse("companies:settings"))
    assert b'name="agents_see_all_conversations"' in page.content
    assert b"checked" in page.content
    client.post(reverse("companies:settings"), {"name": company.name})  # box left unticked
    company.refresh_from_db()
    assert not company.agents_see_all_conversations
    agent = UserFactory(company=company, role=Role.AGENT)
    assert signed_in(agent).get(reverse("companies:settings")).status_code == 403
