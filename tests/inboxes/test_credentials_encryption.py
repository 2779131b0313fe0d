"""Inbox secrets are encrypted at rest: the database holds no plaintext of them, the model reads
them plain, keys rotate, and neither pages, dumps nor error reports show them."""

import importlib
import json
import logging
import sys
from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter

from accounts.models import Role
from inboxes import services
from inboxes.encryption import secret_names
from inboxes.models import Inbox
from tests.conftest import signed_in
from tests.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "EAAG-plaintext-token-4f1d"
APP_SECRET = "app-secret-plaintext-9c2e"
WHATSAPP = {
    "phone_number_id": "1234567890",
    "business_account_id": "998877",
    "access_token": TOKEN,
    "app_secret": APP_SECRET,
}
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def admin():
    return UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN)


def stored(inbox: Inbox) -> dict:
    """The credentials column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials::text FROM inboxes_inbox WHERE company_id = %s AND id = %s",
            [inbox.company_id, inbox.pk],
        )
        return json.loads(cursor.fetchone()[0])


def tables_containing(text: str) -> list[str]:
    """Every table of the database with a row whose text contains `text`."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT 1 FROM {quoted} t WHERE t::text LIKE %s LIMIT 1", [f"%{text}%"])
            if cursor.fetchone():
                found.append(table)
    return found


def create(admin, **credentials) -> Inbox:
    return services.create_inbox(
        admin,
        company=admin.company,
        kind="whatsapp",
        name="Support",
        credentials=WHATSAPP | credentials,
    )


def test_the_database_holds_no_plaintext_secret_and_the_model_reads_them_plain(admin):
    inbox = create(admin)
    assert tables_containing(TOKEN) == [] and tables_containing(APP_SECRET) == []
    raw = stored(inbox)
    assert raw["phone_number_id"] == "1234567890"  # not secret: stays readable
    assert set(raw["access_token"]) == {"fernet"} and set(raw["app_secret"]) == {"fernet"}
    fresh = Inbox.objects.get(pk=inbox.pk)
    assert fresh.credentials["access_token"] == TOKEN
    assert fresh.credentials["app_secret"] == APP_SECRET
    assert Inbox.objects.values_list("credentials", flat=True).get(pk=inbox.pk) == WHATSAPP


def test_every_secret_field_of_every_channel_is_encrypted():
    from inboxes.channels import all_adapters

    migration = importlib.import_module("inboxes.migrations.0040_encrypt_credentials")
    declared = {f.name for a in all_adapters() for f in a.credential_fields if f.is_secret}
    assert secret_names() == declared
    # a secret added to an adapter later is encrypted by the field; rows written before it
    # was declared secret are encrypted by `rotate_credentials`
    assert declared >= migration.SECRET_NAMES


def test_saving_again_keeps_the_secret_encrypted_and_readable(admin):
    inbox = create(admin)
    before = stored(inbox)["access_token"]
    services.update_inbox(
        admin,
        company=admin.company,
        inbox_id=inbox.pk,
        name="Renamed",
        credentials={**WHATSAPP, "access_token": ""},  # blank keeps the stored secret
    )
    after = stored(inbox)["access_token"]
    assert after != before  # a fresh token (Fernet is randomised), same secret inside
    assert Inbox.objects.get(pk=inbox.pk).credentials["access_token"] == TOKEN
    assert tables_containing(TOKEN) == []


def test_the_migration_encrypts_rows_stored_before_it_and_decrypts_them_going_back(admin):
    inbox = create(admin)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inboxes_inbox SET credentials = %s::jsonb WHERE company_id = %s AND id = %s",
            [json.dumps(WHATSAPP), inbox.company_id, inbox.pk],
        )
    assert tables_containing(TOKEN) == ["inboxes_inbox"]
    migration = importlib.import_module("inboxes.migrations.0040_encrypt_credentials")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    migration.encrypt(None, editor)
    assert tables_containing(TOKEN) == []
    assert Inbox.objects.get(pk=inbox.pk).credentials == WHATSAPP
    migration.decrypt(None, editor)
    assert stored(inbox) == WHATSAPP


def test_rotation_reencrypts_with_the_newest_key_so_the_old_one_can_go(admin):
    with override_settings(CREDENTIALS_KEYS=[OLD_KEY]):
        inbox = create(admin)
    token = stored(inbox)["access_token"]["fernet"]
    assert Fernet(OLD_KEY).decrypt(token.encode()).decode() == TOKEN
    with override_settings(CREDENTIALS_KEYS=[NEW_KEY, OLD_KEY]):
        assert Inbox.objects.get(pk=inbox.pk).credentials["access_token"] == TOKEN
        call_command("rotate_credentials", stdout=StringIO())
    rotated = stored(inbox)
    for name, secret in (("access_token", TOKEN), ("app_secret", APP_SECRET)):
        token = rotated[name]["fernet"]
        assert Fernet(NEW_KEY).decrypt(token.encode()).decode() == secret
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY).decrypt(token.encode())
    with override_settings(CREDENTIALS_KEYS=[NEW_KEY]):
        assert Inbox.objects.get(pk=inbox.pk).credentials == WHATSAPP
    assert tables_containing(TOKEN) == []


def test_a_missing_key_loses_nothing_and_names_the_inbox_without_the_secret(admin, caplog):
    with override_settings(CREDENTIALS_KEYS=[OLD_KEY]):
        inbox = create(admin)
    before = stored(inbox)
    with override_settings(CREDENTIALS_KEYS=[NEW_KEY]):
        with caplog.at_level(logging.ERROR):
            credentials = Inbox.objects.get(pk=inbox.pk).credentials
        # the inbox asks for its secrets again instead of failing every page that lists it
        assert credentials["access_token"] == "" and credentials["phone_number_id"] == "1234567890"
        assert "cannot be decrypted" in caplog.text and TOKEN not in caplog.text
        with pytest.raises(CommandError, match=rf"Support \(id {inbox.pk}\)"):
            call_command("rotate_credentials", stdout=StringIO())
    assert stored(inbox) == before  # still decryptable once the key is back
    with override_settings(CREDENTIALS_KEYS=[OLD_KEY]):
        assert Inbox.objects.get(pk=inbox.pk).credentials == WHATSAPP


def test_a_key_that_is_not_a_fernet_key_says_how_to_make_one(admin):
    with (
        override_settings(CREDENTIALS_KEYS=["not-a-key"]),
        pytest.raises(ImproperlyConfigured, match="Fernet.generate_key"),
    ):
        create(admin)


def test_pages_and_dumps_never_show_a_secret(admin):
    inbox = create(admin)
    page = signed_in(admin).get(reverse("inboxes:edit", args=[inbox.pk]))
    assert page.status_code == 200
    assert TOKEN not in page.content.decode() and APP_SECRET not in page.content.decode()
    super_admin = UserFactory(company=None, role=Role.SUPER_ADMIN)
    admin_page = signed_in(super_admin).get(reverse("admin:inboxes_inbox_change", args=[inbox.pk]))
    assert admin_page.status_code == 200
    assert TOKEN not in admin_page.content.decode()
    dump = StringIO()
    call_command("dumpdata", "inboxes.inbox", stdout=dump)
    assert TOKEN not in dump.getvalue() and '"fernet"' in dump.getvalue()


def test_an_error_report_of_a_failed_save_hides_the_secrets(admin, monkeypatch):
    """Django mails error reports with the request and each frame's variables in production."""

    def explode(company):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "_check_channel_limit", explode)
    request = RequestFactory().post(
        reverse("inboxes:create") + "?kind=whatsapp", {"name": "Support", **WHATSAPP}
    )
    request.user, request.company, request.session = admin, admin.company, {}
    from inboxes.views import inbox_create

    try:
        inbox_create(request)
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    else:
        pytest.fail("the save should have failed")
    assert "the database went away" in report
    assert TOKEN not in report and APP_SECRET not in report
