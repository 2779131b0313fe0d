"""Makes the test database a Citus cluster database before its migrations run (`make test-citus`).

Citus keeps its node list per database, so the throwaway database pytest creates on the
coordinator needs the extension, the same database on every worker, and the workers added.
Connected to pre_migrate when CITUS_WORKERS ("host:port,host:port") is set.
"""

import os

import psycopg
from django.db import connections
from django.db.models.signals import pre_migrate

_prepared: set[str] = set()


def workers() -> list[tuple[str, int]]:
    nodes = []
    for item in os.environ.get("CITUS_WORKERS", "").split(","):
        if item.strip():
            host, _, port = item.strip().rpartition(":")
            nodes.append((host, int(port)))
    return nodes


def _prepare(using: str = "default", **kwargs: object) -> None:
    connection = connections[using]
    settings = connection.settings_dict
    if settings["NAME"] in _prepared:
        return
    name = settings["NAME"]
    user = settings.get("USER") or "postgres"
    for host, port in workers():
        with psycopg.connect(
            host=host, port=port, user=user, dbname="postgres", autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(host=host, port=port, user=user, dbname=name, autocommit=True) as c:
            c.execute("CREATE EXTENSION citus")
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS citus")
        for host, port in workers():
            cursor.execute("SELECT citus_add_node(%s, %s)", [host, port])
    _prepared.add(name)


def connect() -> None:
    if workers():
        pre_migrate.connect(_prepare, dispatch_uid="citus-test-cluster")
        # a run that was killed leaves its database behind, held open by Citus's daemon
        connection = connections["default"]
        release(connection.creation._get_test_db_name(), drop=True)


def release(name: str, *, drop: bool = False) -> None:
    """End Citus's own sessions on the test database (its maintenance daemon keeps one open), so
    the test run can drop it."""
    settings = connections["default"].settings_dict
    with psycopg.connect(
        host=settings.get("HOST") or "127.0.0.1",
        port=int(settings.get("PORT") or 5432),
        user=settings.get("USER") or "postgres",
        dbname="postgres",
        autocommit=True,
    ) as c:
        if drop:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        c.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
