"""Reads the migrated schema and holds every tenant table to the tenant-key rules of design.md."""

import pytest
from django.db import connection

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


def test_rule_2_every_tenant_table_and_the_user_table_have_a_company_id_key():
    for table in [*tenant_tables(), USER_TABLE]:
        keys = [columns for _, columns in _unique_keys(table)]
        assert ["company_id", "id"] in keys, f"{table} has no UNIQUE (company_id, id)"


def test_rule_3_every_other_unique_key_starts_with_company():
    bad = []
    for table in tenant_tables():
        for definition, columns in _unique_keys(table):
            if columns == ["id"]:  # the primary key
                continue
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
    bad = [
        r for r in foreign_keys if r[3][0] != "company_id" or len(r[3]) != 2 or not (r[4] and r[5])
    ]
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
