"""Composite tenant foreign keys, added by migrations with RunSQL.

The ORM sees `ForeignKey(..., db_constraint=False)`; the database gets
`(company_id, x_id) REFERENCES x (company_id, id) DEFERRABLE INITIALLY DEFERRED`, so a row of one company
cannot reference another company's row even through raw SQL.
"""

from django.db import migrations


def tenant_foreign_key(table: str, column: str, referenced_table: str) -> migrations.RunSQL:
    """A migration operation adding (and, reversed, dropping) one composite tenant foreign key."""
    name = f"{table}_{column}_tenant_fk"[:63]
    return migrations.RunSQL(
        sql=(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" '
            f'FOREIGN KEY ("company_id", "{column}") '
            f'REFERENCES "{referenced_table}" ("company_id", "id") '
            "DEFERRABLE INITIALLY DEFERRED"
        ),
        reverse_sql=f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"',
    )
