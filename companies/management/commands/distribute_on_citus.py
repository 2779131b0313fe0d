"""Distribute a hub database restored onto a Citus coordinator (README, "Scaling out")."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from companies.schema import convert_schema, global_tables, is_citus, tenant_tables


class Command(BaseCommand):
    help = (
        "Make the global tables reference tables and distribute every tenant table by company, "
        "moving their rows into the shards. Safe to run again."
    )

    def handle(self, *args: object, **options: object) -> None:
        with transaction.atomic(), connection.schema_editor(atomic=False) as schema_editor:
            if not is_citus(schema_editor):
                raise CommandError(
                    "This database has no citus extension. Run CREATE EXTENSION citus and add the "
                    "workers (SELECT citus_add_node(host, port)) first."
                )
            tenants, globals_ = tenant_tables(schema_editor), global_tables(schema_editor)
            convert_schema(schema_editor)
        self.stdout.write(
            f"Distributed {len(tenants)} tenant tables by company_id and made "
            f"{len(globals_)} global tables reference tables."
        )
