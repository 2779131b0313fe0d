"""Tenant keys in the database (design.md, "Tenant keys"), on PostgreSQL and on Citus.

Every tenant table has the primary key `(company_id, id)` (the ORM keeps `id` as its pk) and
references other tenant tables by composite foreign keys `(company_id, x_id) REFERENCES x
(company_id, id)`, immediate, so a row of one company can never point at another company's row.
On a database with the `citus` extension, the global tables (companies, users, Django's own) are
reference tables and every tenant table is distributed by `company_id`, co-located.

Migrations use `TenantTable` right after the `CreateModel` of a new tenant table;
`convert_schema` moved the tables made before these rules (companies 0002) and moves a database
copied from one PostgreSQL server onto Citus (`manage.py distribute_on_citus`).
"""

from dataclasses import dataclass

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# Global tables without company_id that stay plain tables on the Citus coordinator: migration
# bookkeeping, written in the same transaction as the schema changes it records, and the shared
# cache (throttle counters), written often and never joined.
LOCAL_TABLES = frozenset({"django_migrations", "hub_cache"})
# The user table is global (super admins have no company) but carries company_id.
USER_TABLE = "accounts_user"


def is_citus(schema_editor: BaseDatabaseSchemaEditor) -> bool:
    """Is the `citus` extension installed in this database?"""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
        return cursor.fetchone()[0]


def _rows(schema_editor: BaseDatabaseSchemaEditor, sql: str, params: list | None = None) -> list:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _fk_name(table: str, column: str) -> str:
    return f"{table}_{column}_tenant_fk"[:63]


def _add_tenant_fk_sql(table: str, column: str, referenced_table: str) -> str:
    return (
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{_fk_name(table, column)}" '
        f'FOREIGN KEY ("company_id", "{column}") '
        f'REFERENCES "{referenced_table}" ("company_id", "id")'
    )


def tenant_foreign_key(table: str, column: str, referenced_table: str) -> migrations.RunSQL:
    """A migration operation adding (and, reversed, dropping) one composite tenant foreign key."""
    return migrations.RunSQL(
        sql=_add_tenant_fk_sql(table, column, referenced_table),
        reverse_sql=f'ALTER TABLE "{table}" DROP CONSTRAINT "{_fk_name(table, column)}"',
    )


def _set_tenant_primary_key(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    """Make `(company_id, id)` the primary key of `table` (no-op when it already is), and drop
    the `(company_id, id)` unique twin that the primary key replaces."""
    rows = _rows(
        schema_editor,
        """SELECT c.conname, ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)
           FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u')
           ORDER BY c.contype""",
        [table],
    )
    primary = [(name, columns) for name, columns in rows if name.endswith("_pkey")]
    if primary and primary[0][1] != ["company_id", "id"]:
        schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{primary[0][0]}"')
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ("company_id", "id")'
        )
    for name, columns in rows:
        if columns == ["company_id", "id"] and not name.endswith("_pkey"):
            schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')


def _citus_session(schema_editor: BaseDatabaseSchemaEditor) -> None:
    # DDL on distributed tables and foreign keys added after indexes in one transaction need
    # sequential shard commands; local tables referencing a reference table must not be
    # silently turned into coordinator-local Citus tables.
    schema_editor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
    schema_editor.execute("SET LOCAL citus.enable_local_reference_table_foreign_keys TO off")


def _citus_table_type(schema_editor: BaseDatabaseSchemaEditor, table: str) -> str | None:
    """'distributed', 'reference' or None (a plain local table)."""
    rows = _rows(
        schema_editor,
        "SELECT partmethod FROM pg_dist_partition WHERE logicalrelid = %s::regclass",
        [table],
    )
    if not rows:
        return None
    return "reference" if rows[0][0] == "n" else "distributed"


def _distribute(schema_editor: BaseDatabaseSchemaEditor, table: str, *, reference: bool) -> None:
    if _citus_table_type(schema_editor, table) is not None:
        return
    has_rows = bool(_rows(schema_editor, f'SELECT 1 FROM "{table}" LIMIT 1'))
    if reference:
        schema_editor.execute("SELECT create_reference_table(%s)", [table])
    else:
        schema_editor.execute("SELECT create_distributed_table(%s, 'company_id')", [table])
    if has_rows:  # the rows now live in the shards; drop the coordinator's copy
        schema_editor.execute("SELECT truncate_local_data_after_distributing_table(%s)", [table])


class CitusSession(migrations.operations.base.Operation):
    """First operation of a migration that changes distributed tables before it creates one (or
    adds a tenant foreign key): on Citus, the whole transaction must run shard commands one at a
    time, or distributing a table that references a reference table is refused. Nothing
    elsewhere."""

    reversible = True
    reduces_to_sql = True

    def deconstruct(self) -> tuple:
        return (self.__class__.__name__, [], {})

    def state_forwards(self, app_label: str, state: object) -> None:
        pass

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state, to_state
    ) -> None:
        if is_citus(schema_editor):
            _citus_session(schema_editor)

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state, to_state
    ) -> None:
        self.database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return "Run this migration's shard commands sequentially on Citus"


class TenantTable(migrations.operations.base.Operation):
    """Follows the CreateModel of a tenant table: primary key (company_id, id), distributed by
    company on Citus, then its composite foreign keys to other tenant tables (and the user table),
    in that order, as Citus needs."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, references: dict[str, str] | None = None) -> None:
        self.table = table
        self.references = dict(references or {})

    def deconstruct(self) -> tuple:
        return (self.__class__.__name__, [self.table], {"references": self.references})

    def state_forwards(self, app_label: str, state: object) -> None:
        pass

    def database_forwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state, to_state
    ) -> None:
        # CreateModel leaves this table's indexes and its key to companies_company for the end
        # of the migration; run them now, so the table is complete before Citus distributes it.
        pending = [sql for sql in schema_editor.deferred_sql if _mentions(sql, self.table)]
        for sql in pending:
            schema_editor.execute(sql)
            schema_editor.deferred_sql.remove(sql)
        citus = is_citus(schema_editor)
        if citus:
            _citus_session(schema_editor)
        _set_tenant_primary_key(schema_editor, self.table)
        if citus:
            _distribute(schema_editor, self.table, reference=False)
        for column, referenced_table in self.references.items():
            schema_editor.execute(_add_tenant_fk_sql(self.table, column, referenced_table))

    def database_backwards(
        self, app_label: str, schema_editor: BaseDatabaseSchemaEditor, from_state, to_state
    ) -> None:
        for column in self.references:
            schema_editor.execute(
                f'ALTER TABLE "{self.table}" DROP CONSTRAINT "{_fk_name(self.table, column)}"'
            )

    def describe(self) -> str:
        return f"Tenant keys (and Citus distribution) for {self.table}"


def _mentions(statement: object, table: str) -> bool:
    references_table = getattr(statement, "references_table", None)
    if references_table is not None:
        return references_table(table)
    return f'"{table}"' in str(statement)


@dataclass(frozen=True)
class ForeignKey:
    table: str
    name: str
    definition: str
    is_tenant_key: bool


def tenant_tables(schema_editor: BaseDatabaseSchemaEditor) -> list[str]:
    """Every table of the public schema with a company_id, except the (global) user table."""
    rows = _rows(
        schema_editor,
        """SELECT c.table_name FROM information_schema.columns c
           JOIN information_schema.tables t USING (table_schema, table_name)
           WHERE c.table_schema = 'public' AND c.column_name = 'company_id'
             AND t.table_type = 'BASE TABLE' ORDER BY 1""",
    )
    return [name for (name,) in rows if name != USER_TABLE]


def global_tables(schema_editor: BaseDatabaseSchemaEditor) -> list[str]:
    """Every other table of the public schema (companies, users, Django's and libraries')."""
    rows = _rows(
        schema_editor,
        """SELECT table_name FROM information_schema.tables
           WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1""",
    )
    tenant = set(tenant_tables(schema_editor))
    return [name for (name,) in rows if name not in tenant and name not in LOCAL_TABLES]


def _foreign_keys(schema_editor: BaseDatabaseSchemaEditor, tables: set[str]) -> list[ForeignKey]:
    rows = _rows(
        schema_editor,
        """SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, c.conname,
                  pg_get_constraintdef(c.oid), array_length(c.conkey, 1),
                  (SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid
                   AND attnum = c.conkey[1])
           FROM pg_constraint c WHERE c.contype = 'f'
             AND c.connamespace = 'public'::regnamespace ORDER BY 1, 3""",
    )
    keys_holders = tables | {USER_TABLE}
    return [
        ForeignKey(
            table=table,
            name=name,
            definition=definition,
            is_tenant_key=(
                table in keys_holders
                and referenced in keys_holders
                and columns == 2
                and first == "company_id"
            ),
        )
        for table, referenced, name, definition, columns, first in rows
    ]


def convert_schema(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Bring every existing table to the tenant-key rules, and on Citus distribute them.

    Idempotent: safe on a database that is already converted, and the way a database copied from
    one PostgreSQL server (with its rows) is moved onto a Citus coordinator.
    """
    citus = is_citus(schema_editor)
    tenants = tenant_tables(schema_editor)
    if citus:
        _citus_session(schema_editor)
    foreign_keys = _foreign_keys(schema_editor, set(tenants))
    # Citus converts only tables without foreign keys to local tables, and the primary key swap
    # needs the composite keys gone: drop every key, convert, then put each back.
    dropped = []
    for key in foreign_keys:
        if citus or key.is_tenant_key:
            schema_editor.execute(f'ALTER TABLE "{key.table}" DROP CONSTRAINT "{key.name}"')
            dropped.append(key)
    for table in tenants:
        _set_tenant_primary_key(schema_editor, table)
    if citus:
        for table in global_tables(schema_editor):
            _distribute(schema_editor, table, reference=True)
        for table in tenants:
            _distribute(schema_editor, table, reference=False)
    for key in dropped:
        definition = key.definition
        if key.is_tenant_key:  # tenant keys are immediate: refused at the statement, everywhere
            definition = definition.replace(" DEFERRABLE INITIALLY DEFERRED", "")
        schema_editor.execute(f'ALTER TABLE "{key.table}" ADD CONSTRAINT "{key.name}" {definition}')
