"""Inbox secrets encrypted at rest: the credentials column keeps its JSON, and every secret in it
(as the adapters named them when this was written) becomes {"fernet": token}. Reversible: going
back writes them as text again."""

import json

from django.db import migrations

import inboxes.encryption

SECRET_NAMES = frozenset(
    {
        "access_token",
        "app_secret",
        "page_access_token",
        "imap_password",
        "smtp_password",
        "auth_token",
    }
)


def _rewrite(schema_editor, change) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT company_id, id, credentials::text FROM inboxes_inbox")
        rows = cursor.fetchall()
        for company_id, inbox_id, text in rows:
            stored = json.loads(text) if text else {}
            if not isinstance(stored, dict):
                continue
            changed = change(stored)
            if changed != stored:
                cursor.execute(
                    "UPDATE inboxes_inbox SET credentials = %s::jsonb "
                    "WHERE company_id = %s AND id = %s",
                    [json.dumps(changed), company_id, inbox_id],
                )


def encrypt(apps, schema_editor) -> None:
    fernet = inboxes.encryption.fernet()

    def change(stored: dict) -> dict:
        return {
            name: {"fernet": fernet.encrypt(value.encode()).decode()}
            if name in SECRET_NAMES and isinstance(value, str) and value
            else value
            for name, value in stored.items()
        }

    _rewrite(schema_editor, change)


def decrypt(apps, schema_editor) -> None:
    _rewrite(schema_editor, lambda stored: inboxes.encryption.decrypt_secrets(stored, strict=True))


class Migration(migrations.Migration):
    dependencies = [("inboxes", "0003_webhook_deliveries")]

    operations = [
        migrations.AlterField(
            model_name="inbox",
            name="credentials",
            field=inboxes.encryption.EncryptedCredentialsField(blank=True, default=dict),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
