"""Tenant keys for the tables made before them: primary keys (company_id, id), immediate
composite foreign keys, and on Citus the reference and distributed tables (companies.schema)."""

from django.db import migrations

from companies.schema import convert_schema


def forwards(apps, schema_editor) -> None:
    convert_schema(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0001_initial"),
        ("accounts", "0001_initial"),
        ("customers", "0003_tenant_primary_key"),
        ("inboxes", "0002_tenant_primary_key"),
        ("conversations", "0004_tenant_primary_keys"),
        # every global table that exists today becomes a reference table on Citus
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions", "0001_initial"),
        ("axes", "0010_accessattemptexpiration"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
