"""On the Citus cluster (`make test-citus`): the README's way from one PostgreSQL server to Citus.

A hub database with rows on one server (here a database on the coordinator's server without the
citus extension: plain PostgreSQL) is dumped with pg_dump and restored into a database that has the
citus extension and both workers; `manage.py distribute_on_citus` makes the reference and
distributed tables. Then every row is there, the coordinator keeps no copy of them, identity
sequences continue, and the hub signs in, lists and answers on the moved database.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.db import connection

from companies.models import CompanyOwned
from companies.schema import LOCAL_TABLES
from hub.demo import DEMO_PASSWORD
from tests.citus import prepare

ROOT = Path(__file__).resolve().parents[2]
SOURCE, TARGET = "test_hub_move_source", "test_hub_move_citus"
# every table of a CompanyOwned model (a new tenant table joins the check by itself)
TENANT_TABLES = {
    model._meta.db_table
    for model in apps.get_models()
    if issubclass(model, CompanyOwned) and not model._meta.proxy
}
# run by `manage.py shell` on the source database (one process start instead of two)
MIGRATE_AND_SEED = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("seed_demo")
"""
# run by `manage.py shell` on the moved database: nothing is left to migrate, then an agent signs
# in, finds a conversation in the inbox and answers it
USE_THE_HUB = f"""
import json
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from conversations.models import Conversation, Message

settings.STORAGES = {{**settings.STORAGES,
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}}}
call_command("migrate", check=True, verbosity=0)  # exits non-zero if anything is unapplied
client = Client()
signed_in = client.post(reverse("accounts:login"),
                        {{"username": "ana@acme.example", "password": "{DEMO_PASSWORD}"}})
inbox = client.get(reverse("conversations:inbox"), {{"tab": "all", "status": "any"}})
conversation = Conversation.objects.filter(
    company__slug="acme", assigned_user__email="ana@acme.example"
).order_by("-last_message_at")[0]
last_seen = Message.objects.filter(
    company_id=conversation.company_id, conversation=conversation
).order_by("-id").values_list("id", flat=True)[0]
reply = client.post(reverse("conversations:reply", args=[conversation.pk]),
                    {{"content": "Answered after the move to Citus", "last_seen": last_seen}})
message = Message.objects.get(company_id=conversation.company_id,
                              content="Answered after the move to Citus")
print(json.dumps({{
    "sign_in": signed_in.status_code,
    "inbox": inbox.status_code,
    "inbox_shows_it": escape(conversation.customer.name) in inbox.content.decode(),
    "reply": reply.status_code,
    "message_id": message.pk,
}}))
"""


def coordinator(database: str = "postgres") -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"] or "postgres",
        dbname=database,
        autocommit=True,
    )


def url(database: str) -> str:
    settings = connection.settings_dict
    return f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST']}:{settings['PORT']}/{database}"


def manage(database: str, *args: str, stdin: str | None = None) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": url(database),
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
    }
    env.pop("CITUS_WORKERS", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def client_program(name: str) -> str:
    """pg_dump / psql of the cluster's PostgreSQL (tests/citus/cluster.sh uses the newest one
    under /usr/lib/postgresql)."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parts[-3])
    assert found, f"no {name} under /usr/lib/postgresql"
    return str(found[-1])


def drop_everywhere(*databases: str) -> None:
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    for host, port in [(settings["HOST"], int(settings["PORT"])), *prepare.workers()]:
        with psycopg.connect(
            host=host, port=port, user=user, dbname="postgres", autocommit=True
        ) as c:
            for name in databases:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rows(database: str) -> dict[str, tuple]:
    """(count, highest id) of every table; the coordinator reads a distributed table's shards."""
    with coordinator(database) as c:
        tables = [
            t for (t,) in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        found = {}
        for table in tables:
            has_id = c.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND column_name = 'id'",
                [table],
            ).fetchone()
            highest = "max(id)" if has_id and has_id[0] == "bigint" else "NULL"
            found[table] = tuple(c.execute(f'SELECT count(*), {highest} FROM "{table}"').fetchone())
        return found


@pytest.fixture
def single_server_hub() -> Iterator[dict]:
    """A migrated hub database with the demo data on plain PostgreSQL: its row counts and the
    last id its message sequence gave."""
    drop_everywhere(SOURCE, TARGET)
    with coordinator() as c:
        c.execute(f'CREATE DATABASE "{SOURCE}"')
    manage(SOURCE, "shell", stdin=MIGRATE_AND_SEED)
    with coordinator(SOURCE) as c:
        assert (
            c.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citus'").fetchone()[0]
            == 0
        )
        last_message_id = c.execute(
            "SELECT last_value FROM conversations_message_id_seq"
        ).fetchone()[0]
    yield {"rows": rows(SOURCE), "last_message_id": last_message_id}
    drop_everywhere(SOURCE, TARGET)


@pytest.mark.django_db
def test_a_single_server_database_moves_to_citus_with_its_rows(single_server_hub):
    before = single_server_hub["rows"]
    assert before["conversations_message"][0] > 100
    assert before["companies_company"][0] == 2

    # the README's steps: the database on every node with citus, the workers added, the restore
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    for host, port in prepare.workers():
        with psycopg.connect(
            host=host, port=port, user=user, dbname="postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{TARGET}"')
        with psycopg.connect(host=host, port=port, user=user, dbname=TARGET, autocommit=True) as c:
            c.execute("CREATE EXTENSION citus")
    with coordinator() as c:
        c.execute(f'CREATE DATABASE "{TARGET}"')
    with coordinator(TARGET) as c:
        c.execute("CREATE EXTENSION citus")
        for host, port in prepare.workers():
            c.execute("SELECT citus_add_node(%s, %s)", [host, port])
    dump = subprocess.run(
        [client_program("pg_dump"), "--no-owner", "--no-privileges", url(SOURCE)],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    subprocess.run(
        [client_program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
        + ["-o", "/dev/null", url(TARGET)],
        input=dump,
        check=True,
        timeout=120,
    )
    output = manage(TARGET, "distribute_on_citus")
    assert f"Distributed {len(TENANT_TABLES)} tenant tables by company_id" in output

    with coordinator(TARGET) as c:
        kinds = dict(
            c.execute(
                "SELECT table_name::text, citus_table_type || ':' || distribution_column "
                "FROM citus_tables"
            ).fetchall()
        )
        colocations = c.execute(
            "SELECT count(DISTINCT colocation_id) FROM citus_tables "
            "WHERE citus_table_type = 'distributed'"
        ).fetchone()[0]
        coordinator_copy = c.execute(
            "SELECT coalesce(sum(pg_relation_size(logicalrelid)), 0) FROM pg_dist_partition"
        ).fetchone()[0]
    assert {t for t, kind in kinds.items() if kind == "distributed:company_id"} == TENANT_TABLES
    assert {t for t, kind in kinds.items() if kind.startswith("reference")} == (
        set(before) - TENANT_TABLES - LOCAL_TABLES
    )
    assert colocations == 1
    assert coordinator_copy == 0  # the rows moved into the shards; the coordinator kept none
    assert rows(TARGET) == before

    used = json.loads(manage(TARGET, "shell", stdin=USE_THE_HUB).strip().splitlines()[-1])
    assert used["sign_in"] == 302
    assert used["inbox"] == 200 and used["inbox_shows_it"]
    assert used["reply"] == 200
    # the identity sequence went on from where it was: a fresh id, after every moved one
    assert used["message_id"] == single_server_hub["last_message_id"] + 1
    assert used["message_id"] > before["conversations_message"][1]
    assert rows(TARGET)["conversations_message"] == (
        before["conversations_message"][0] + 1,
        used["message_id"],
    )
