"""Reads the migrated schema and holds every tenant table to the tenant-key rules of design.md."""

import pytest
from django.db import connection

from companies.schema import LOCAL_TABLES

pytestmark = pytest.mark.django_db

# Tables without company_id that are not tenant-owned (platform or framework tables).
GLOBAL_TABLES = {"companies_company"}
# The user table is global (super admins have no company) but still needs the (company, id) key.
USER_TABLE = "accounts_user"


def _query(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def tenant_tables() -> list[str]:
    rows = _query(
        """SELECT table_name FROM information_schema.columns
           WHERE table_schema = 'public' AND column_name = 'company_id'"""
    )
    return sorted({name for (name,) in rows} - {USER_TABLE})


def _unique_keys(table: str) -> list[list[str]]:
    """Column lists of every unique index (constraints and expression indexes) on `table`."""
    rows = _query(
        """SELECT pg_get_indexdef(i.indexrelid), ARRAY(
                 SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 ORDER BY k.n)
           FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indisunique""",
        [table],
    )
    return [(definition, [c for c in columns]) for definition, columns in rows]


def test_there_are_tenant_tables():
    assert {
        "customers_customer",
        "inboxes_inbox",
        "conversations_conversation",
        "conversations_message",
    } <= set(tenant_tables())


@pytest.mark.parametrize(
    "table",
    ["customers_customer", "inboxes_inbox", "conversations_conversation", "conversations_message"],
)
def test_rule_1_company_id_is_not_null_bigint(table):
    rows = _query(
        """SELECT is_nullable, data_type FROM information_schema.columns
           WHERE table_name = %s AND column_name = 'company_id'""",
        [table],
    )
    assert rows == [("NO", "bigint")]


def test_rule_1_every_tenant_table_has_a_non_null_company_id_of_one_type():
    rows = _query(
        """SELECT table_name, is_nullable, data_type FROM information_schema.columns
           WHERE table_schema = 'public' AND column_name = 'company_id' AND table_name <> %s""",
        [USER_TABLE],
    )
    company_pk_type = _query(
        """SELECT data_type FROM information_schema.columns
           WHERE table_name = 'companies_company' AND column_name = 'id'"""
    )[0][0]
    bad = [(t, n, d) for t, n, d in rows if n != "NO" or d != company_pk_type]
    assert bad == []


def _primary_key(table: str) -> list[str]:
    rows = _query(
        """SELECT ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)
           FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype = 'p'""",
        [table],
    )
    return rows[0][0] if rows else []


def test_rule_2_every_tenant_table_has_the_primary_key_company_id_id():
    bad = {table: _primary_key(table) for table in tenant_tables()}
    assert {t: pk for t, pk in bad.items() if pk != ["company_id", "id"]} == {}


def test_rule_2_the_user_table_has_a_company_id_key():
    keys = [columns for _, columns in _unique_keys(USER_TABLE)]
    assert ["company_id", "id"] in keys


def test_rule_3_every_other_unique_key_starts_with_company():
    bad = []
    for table in tenant_tables():
        for definition, columns in _unique_keys(table):
            if columns[0] != "company_id":
                bad.append(definition)
    assert bad == []


def test_rule_4_references_between_tenant_tables_carry_the_company():
    tenant = set(tenant_tables()) | {USER_TABLE}
    rows = _query(
        """SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
                  ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                        JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.o),
                  c.condeferrable, c.condeferred
           FROM pg_constraint c WHERE c.contype = 'f'"""
    )
    foreign_keys = [r for r in rows if r[1] in tenant and r[2] in tenant]
    assert foreign_keys, "expected composite tenant foreign keys"
    # immediate, not deferrable: Citus does not pass SET CONSTRAINTS to its workers, so a deferred
    # key would refuse a cross-company reference only at COMMIT there
    bad = [r for r in foreign_keys if r[3][0] != "company_id" or len(r[3]) != 2 or r[4] or r[5]]
    assert bad == []


def test_rule_4_every_reference_column_between_tenant_tables_is_covered():
    """Each *_id column that points at another tenant table has a composite key."""
    expected = {
        ("conversations_conversation", "customer_id"),
        ("conversations_conversation", "inbox_id"),
        ("conversations_conversation", "assigned_user_id"),
        ("conversations_message", "conversation_id"),
        ("conversations_message", "inbox_id"),
        ("conversations_message", "sender_user_id"),
        ("conversations_conversationviewer", "conversation_id"),
        ("conversations_conversationviewer", "user_id"),
    }
    rows = _query(
        """SELECT c.conrelid::regclass::text,
                  (SELECT attname FROM pg_attribute WHERE attrelid = c.conrelid AND attnum = c.conkey[2])
           FROM pg_constraint c WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 2"""
    )
    assert expected <= set(rows)
    # and no plain single-column foreign key between tenant tables
    tenant = set(tenant_tables()) | {USER_TABLE}
    singles = _query(
        """SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
           FROM pg_constraint c WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1"""
    )
    assert [
        s for s in singles if s[0] in tenant and s[1] in tenant and s[1] != "companies_company"
    ] == []


def test_rule_5_indexes_lead_with_company_and_end_with_id():
    bad = []
    for table in tenant_tables():
        rows = _query(
            """SELECT pg_get_indexdef(i.indexrelid), i.indisunique, ARRAY(
                     SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                     LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     ORDER BY k.n)
               FROM pg_index i JOIN pg_class ix ON ix.oid = i.indexrelid
               JOIN pg_am am ON am.oid = ix.relam
               -- full-text GIN indexes cannot lead with company_id without btree_gin, which the
               -- embedded server does not ship; their queries always add company_id = ?
               WHERE i.indrelid = %s::regclass AND am.amname = 'btree'""",
            [table],
        )
        for definition, is_unique, columns in rows:
            if is_unique:
                continue  # unique keys are rule 2 and 3
            if columns[0] != "company_id" or columns[-1] != "id":
                bad.append(definition)
    assert bad == []


def _is_citus() -> bool:
    return _query("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")[0][0]


def _citus_tables() -> dict[str, tuple[str, str, int]]:
    """table -> (type, distribution column, colocation id), from Citus's catalog."""
    rows = _query(
        "SELECT table_name::text, citus_table_type, distribution_column, colocation_id"
        " FROM citus_tables"
    )
    return {name: (kind, column, colocation) for name, kind, column, colocation in rows}


def test_rule_7_on_citus_tenant_tables_are_distributed_by_company_and_colocated():
    if not _is_citus():
        # plain PostgreSQL: nothing is distributed, and nothing pretends to be
        assert _query("SELECT count(*) FROM pg_extension WHERE extname = 'citus'") == [(0,)]
        return
    citus = _citus_tables()
    tenants = tenant_tables()
    assert {t: citus.get(t, ("local",))[:2] for t in tenants} == {
        t: ("distributed", "company_id") for t in tenants
    }
    assert len({citus[t][2] for t in tenants}) == 1, "tenant tables are not co-located"


def test_rule_7_on_citus_every_global_table_is_a_reference_table():
    if not _is_citus():
        assert _query("SELECT to_regclass('pg_dist_partition')") == [(None,)]
        return
    citus = _citus_tables()
    tables = [
        name
        for (name,) in _query(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    ]
    not_classified = [
        t for t in tables if t not in citus and t not in tenant_tables() and t not in LOCAL_TABLES
    ]
    assert not_classified == []
    assert citus["companies_company"][0] == "reference"
    assert citus[USER_TABLE][0] == "reference"


def test_a_new_tenant_table_gets_its_keys_and_distribution_from_its_migration():
    """TenantTable, used after the CreateModel of every new tenant table."""
    from django.db import models

    from companies.models import CompanyOwned, tenant_foreign_key
    from companies.schema import TenantTable

    class Note(CompanyOwned):
        conversation = tenant_foreign_key("conversations.Conversation")
        text = models.TextField()

        class Meta(CompanyOwned.Meta):
            app_label = "companies"
            db_table = "test_schema_note"

    with connection.schema_editor() as editor:
        editor.create_model(Note)
        TenantTable(
            "test_schema_note", references={"conversation_id": "conversations_conversation"}
        ).database_forwards("companies", editor, None, None)
    try:
        assert _primary_key("test_schema_note") == ["company_id", "id"]
        keys = _query(
            """SELECT pg_get_constraintdef(oid) FROM pg_constraint
               WHERE conrelid = 'test_schema_note'::regclass AND contype = 'f'
                 AND array_length(conkey, 1) = 2"""
        )
        assert keys == [
            (
                "FOREIGN KEY (company_id, conversation_id) "
                "REFERENCES conversations_conversation(company_id, id)",
            )
        ]
        if _is_citus():
            citus = _citus_tables()
            assert citus["test_schema_note"][:2] == ("distributed", "company_id")
            assert citus["test_schema_note"][2] == citus["conversations_conversation"][2]
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(Note)
        # forget the model, or deleting a company would look for its rows in the dropped table
        from django.apps import apps

        del apps.all_models["companies"]["note"]
        apps.clear_cache()
