"""The inbox's timings on a Citus cluster beside one PostgreSQL, same companies, same rows, one run.

    .venv/bin/python bench/citus_compare.py                  # 11 companies, 100,000 conversations
    CITUS_PORT=55460 .venv/bin/python bench/citus_compare.py --tenants 40000,25000,15000,2500x8

1. Builds a multi-company dataset on the embedded PostgreSQL (bench/build_dataset.py --tenants, its
   own database, --database).
2. Starts the Citus cluster of `make test-citus` (tests/citus/cluster.sh: a coordinator on
   CITUS_PORT, default 55440, and two workers on the next ports) unless it already runs.
3. Moves that database onto Citus the way README "Scaling out" says: pg_dump, restore into a
   database of the same name on the coordinator that has the citus extension and both workers,
   `manage.py distribute_on_citus`, VACUUM ANALYZE. Checks that every table has the same rows
   (count and highest id) on both, and that the companies' shards are on both workers.
4. Times single statements (a round trip, a reference-table read, a one-shard read) and the inbox's
   hot paths (bench/inbox_timings.py) for the largest and the smallest company on both, in
   alternating passes so that load from elsewhere on the machine falls on both alike.
5. Prints them side by side, writes bench/.citus-compare-<database>.json, and stops the cluster if
   it started it.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
CLUSTER = ROOT / "tests" / "citus" / "cluster.sh"
USER = "postgres"


def say(text: str = "") -> None:
    print(text, flush=True)


def pg15_bin(name: str) -> str:
    """A client program of the PostgreSQL the cluster runs (Debian's), for the restore."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    path = shutil.which(name)
    if not path:
        sys.exit(f"No {name} found: install the PostgreSQL client that matches the cluster.")
    return path


def embedded_bin(name: str) -> str:
    """A client program of the embedded server (pgserver's wheel), for the dump."""
    import pgserver

    return str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)


class Stopwatch:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}

    def run(self, label: str, action: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        result = action(*args, **kwargs)
        self.laps[label] = time.monotonic() - started
        say(f"  {label}: {self.laps[label]:.0f}s")
        return result


# --- the two databases ------------------------------------------------------------------------------


def embedded_env(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, "EMBEDDED_POSTGRES_DB": database}


def citus_url(port: int, database: str) -> str:
    return f"postgres://{USER}@127.0.0.1:{port}/{database}"


def citus_env(port: int, database: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": citus_url(port, database)}


def cluster_is_up(port: int) -> bool:
    try:
        with psycopg.connect(citus_url(port, "postgres"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def recreate_citus_database(port: int, database: str) -> None:
    """The database on every node, the extension in each, the workers added on the coordinator."""
    for node in (port + 1, port + 2, port):
        with psycopg.connect(citus_url(node, "postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{database}"')
        with psycopg.connect(citus_url(node, database), autocommit=True) as c:
            c.execute("CREATE EXTENSION citus")
    with psycopg.connect(citus_url(port, database), autocommit=True) as c:
        for node in (port + 1, port + 2):
            c.execute("SELECT citus_add_node('127.0.0.1', %s)", [node])


def dump_and_restore(embedded: dict[str, str], port: int, database: str) -> int:
    """pg_dump of the embedded database piped into psql on the coordinator; returns the dump's
    size in bytes."""
    dump = subprocess.Popen(
        [
            embedded_bin("pg_dump"),
            "--no-owner",
            "--no-privileges",
            "-h",
            embedded["HOST"],
            "-p",
            embedded["PORT"],
            "-U",
            USER,
            "-d",
            database,
        ],
        stdout=subprocess.PIPE,
    )
    restore = subprocess.Popen(
        [pg15_bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null"]
        + ["--single-transaction", "-d", citus_url(port, database)],
        stdin=subprocess.PIPE,
    )
    assert dump.stdout and restore.stdin
    size = 0
    while chunk := dump.stdout.read(1 << 20):
        restore.stdin.write(chunk)
        size += len(chunk)
    restore.stdin.close()
    if dump.wait() or restore.wait():
        sys.exit("pg_dump or the restore failed; see above.")
    return size


def vacuum_analyze(port: int, database: str) -> None:
    """Statistics for the planner on every shard (a restore brings none); on the coordinator,
    Citus passes VACUUM on to every shard."""
    with psycopg.connect(citus_url(port, database), autocommit=True) as c:
        c.execute("VACUUM ANALYZE")


def table_rows(dsn: str | dict[str, str]) -> dict[str, tuple[int, str | None]]:
    """(row count, highest id as text) of every table of the public schema."""
    if isinstance(dsn, dict):
        conn = psycopg.connect(
            host=dsn["HOST"], port=dsn["PORT"], user=USER, dbname=dsn["NAME"], autocommit=True
        )
    else:
        conn = psycopg.connect(dsn, autocommit=True)
    with conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        found = {}
        for table in tables:
            has_id = conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND column_name = 'id'",
                [table],
            ).fetchone()
            highest = "max(id::text)" if has_id else "NULL"
            found[table] = tuple(
                conn.execute(f'SELECT count(*), {highest} FROM "{table}"').fetchone()
            )
        return found


def check_same_rows(embedded: dict[str, str], port: int, database: str) -> dict[str, int]:
    before, after = table_rows(embedded), table_rows(citus_url(port, database))
    differ = {t: (before.get(t), after.get(t)) for t in before.keys() | after.keys()}
    differ = {t: pair for t, pair in differ.items() if pair[0] != pair[1]}
    if differ:
        sys.exit(f"Row counts differ between PostgreSQL and Citus: {differ}")
    say(f"  the {len(before)} tables have the same row counts and highest ids on both")
    return {table: count for table, (count, _) in before.items()}


def shard_placements(port: int, database: str) -> dict[str, Any]:
    """Which worker holds each company, and the distributed tables' size per worker."""
    with psycopg.connect(citus_url(port, database), autocommit=True) as c:
        companies = c.execute(
            """SELECT co.slug, n.nodename || ':' || n.nodeport, s.shardid
               FROM companies_company co
               CROSS JOIN LATERAL (SELECT get_shard_id_for_distribution_column(
                   'conversations_conversation', co.id) AS shardid) s
               JOIN pg_dist_placement p ON p.shardid = s.shardid
               JOIN pg_dist_node n ON n.groupid = p.groupid ORDER BY co.id"""
        ).fetchall()
        nodes = c.execute(
            """SELECT nodename || ':' || nodeport, count(DISTINCT shardid),
                      pg_size_pretty(sum(shard_size)::bigint)
               FROM citus_shards WHERE citus_table_type = 'distributed' GROUP BY 1 ORDER BY 1"""
        ).fetchall()
        types = dict(
            c.execute("SELECT citus_table_type, count(*) FROM citus_tables GROUP BY 1").fetchall()
        )
    return {
        "companies": {slug: {"node": node, "shard": shard} for slug, node, shard in companies},
        "nodes": {node: {"shards": shards, "size": size} for node, shards, size in nodes},
        "table_types": types,
    }


# --- single statements ------------------------------------------------------------------------------


def statement_timings(dsn: dict[str, Any], tenant: dict[str, Any], repeats: int) -> dict:
    """Median round trip (ms) of a few single statements, from a client like the hub's."""
    statements = {
        "SELECT 1 (no table)": ("SELECT 1", []),
        "session read by key (reference table)": (
            "SELECT session_data FROM django_session WHERE session_key = %s",
            ["x" * 32],
        ),
        "user by id (reference table)": (
            "SELECT email FROM accounts_user WHERE id = %s",
            [tenant["admin_user_id"]],
        ),
        "conversation by company and id (one shard)": (
            "SELECT subject FROM conversations_conversation WHERE company_id = %s AND id = %s",
            [tenant["company_id"], tenant["conversation_200_id"]],
        ),
        "conversation by id alone (every shard)": (
            "SELECT subject FROM conversations_conversation WHERE id = %s",
            [tenant["conversation_200_id"]],
        ),
    }
    found = {}
    with psycopg.connect(**dsn, autocommit=True) as conn:
        for label, (sql, params) in statements.items():
            for _ in range(10):
                conn.execute(sql, params).fetchall()
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                conn.execute(sql, params).fetchall()
                times.append((time.perf_counter() - started) * 1000)
            found[label] = statistics.median(times)
    return found


# --- the inbox timings ------------------------------------------------------------------------------


def inbox_pass(env: dict[str, str], dataset: Path, slug: str, runs: int, warmup: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [PYTHON, str(BENCH / "inbox_timings.py"), "--dataset", str(dataset)]
            + ["--tenant", slug, "--runs", str(runs), "--warmup", str(warmup), "--json", out.name],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return json.loads(Path(out.name).read_text())


def merge_passes(passes: list[dict]) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for one in passes:
        for result in one["results"]:
            entry = merged.setdefault(
                result["scenario"],
                {"times": [], "db": [], "queries": set(), "status": set()},
            )
            entry["times"] += result["times_ms"]
            entry["db"] += result["db_times_ms"]
            entry["queries"].add(result["queries"])
            entry["status"].add(result["status"])
    summary = {}
    for scenario, entry in merged.items():
        times = sorted(entry["times"])
        summary[scenario] = {
            "median_ms": statistics.median(times),
            "p95_ms": times[max(0, int(round(0.95 * len(times))) - 1)],
            "min_ms": times[0],
            "db_median_ms": statistics.median(entry["db"]),
            "queries": "/".join(str(q) for q in sorted(entry["queries"])),
            "status": "/".join(sorted(entry["status"])),
            "runs": len(times),
        }
    return summary


def print_side_by_side(single: dict[str, dict], citus: dict[str, dict]) -> None:
    """Median / p95 on each side, their ratio, the fastest run of each (the least disturbed by
    other load on the machine) and the median time spent in the database."""
    say(
        f"  {'scenario':<44} {'PostgreSQL':>14} {'Citus':>14} {'ratio':>6} {'min PG / Citus':>15} "
        f"{'db PG / Citus':>14} {'queries':>8} {'status':>7}"
    )
    for scenario, pg in single.items():
        ci = citus[scenario]
        queries = (
            pg["queries"] if pg["queries"] == ci["queries"] else f"{pg['queries']}|{ci['queries']}"
        )
        status = pg["status"] if pg["status"] == ci["status"] else f"{pg['status']}|{ci['status']}"
        say(
            f"  {scenario:<44} {pg['median_ms']:>6.1f} / {pg['p95_ms']:>5.1f} "
            f"{ci['median_ms']:>6.1f} / {ci['p95_ms']:>5.1f} {ci['median_ms'] / pg['median_ms']:>6.2f} "
            f"{pg['min_ms']:>6.1f} / {ci['min_ms']:>6.1f} "
            f"{pg['db_median_ms']:>5.1f} / {ci['db_median_ms']:>6.1f} {queries:>8} {status:>7}"
        )


# --- the run ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tenants",
        default="40000,25000,15000,2500x8",
        help="conversations per company (default: three large, eight small; 100,000 in all)",
    )
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--database", default="hub_bench_tenants")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per scenario and side")
    parser.add_argument(
        "--passes", type=int, default=2, help="alternating passes the runs split into"
    )
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="time the databases of an earlier run, build nothing"
    )
    parser.add_argument("--keep-cluster", action="store_true", help="leave the cluster running")
    args = parser.parse_args()
    if args.database in {"hub", "test_hub"}:
        parser.error("choose a database of its own for the benchmark")
    port = int(os.environ.get("CITUS_PORT", "55440"))
    database, clock = args.database, Stopwatch()
    dataset_path = BENCH / f".dataset-{database}.json"
    started = time.monotonic()

    sys.path.insert(0, str(ROOT))
    from hub import embedded_postgres

    # hold the embedded server for the whole run (each step's process joins it)
    embedded = embedded_postgres.start(ROOT / ".data" / "postgres", database)

    if not args.reuse:
        say(f'Building the dataset on PostgreSQL (embedded, database "{database}")')
        clock.run(
            "build (bench/build_dataset.py)",
            subprocess.run,
            [PYTHON, str(BENCH / "build_dataset.py"), "--tenants", args.tenants, "--rebuild"]
            + ["--messages-per-conversation", str(args.messages_per_conversation)],
            env=embedded_env(database),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    dataset = json.loads(dataset_path.read_text())

    started_cluster = not cluster_is_up(port)
    if started_cluster:
        say(f"Starting the Citus cluster (tests/citus/cluster.sh, CITUS_PORT={port})")
        subprocess.run(
            [str(CLUSTER), "start"], env={**os.environ, "CITUS_PORT": str(port)}, check=True
        )
    try:
        if not args.reuse:
            say(f'Moving it onto Citus (coordinator 127.0.0.1:{port}, database "{database}")')
            clock.run(
                "database on every node, citus, workers added",
                recreate_citus_database,
                port,
                database,
            )
            size = clock.run("pg_dump | psql restore", dump_and_restore, embedded, port, database)
            say(f"    dump: {size / 1024**2:.0f} MB of SQL")
            clock.run(
                "manage.py distribute_on_citus",
                subprocess.run,
                [PYTHON, str(ROOT / "manage.py"), "distribute_on_citus"],
                env=citus_env(port, database),
                check=True,
            )
            clock.run("VACUUM ANALYZE", vacuum_analyze, port, database)
        rows = check_same_rows(embedded, port, database)
        placements = shard_placements(port, database)
        workers = {f"127.0.0.1:{port + 1}", f"127.0.0.1:{port + 2}"}
        used = {place["node"] for place in placements["companies"].values()}
        if used != workers:
            sys.exit(f"The companies' shards are not on both workers: {placements['companies']}")
        say(f"  tables: {placements['table_types']}")
        for node, info in placements["nodes"].items():
            slugs = [s for s, place in placements["companies"].items() if place["node"] == node]
            say(
                f"  worker {node}: {info['shards']} shards, {info['size']}; companies {', '.join(slugs)}"
            )

        tenants = sorted(dataset["tenants"], key=lambda t: t["counts"]["conversations"])
        timed = [tenants[-1], tenants[0]]  # the largest and the smallest company
        single_dsn = {
            "host": embedded["HOST"],
            "port": embedded["PORT"],
            "user": USER,
            "dbname": database,
        }
        citus_dsn = {"host": "127.0.0.1", "port": port, "user": USER, "dbname": database}
        say(
            "\nSingle statements, median ms over 200 (client -> server; on Citus, -> coordinator -> worker)"
        )
        statements = {
            "PostgreSQL": statement_timings(single_dsn, timed[0], 200),
            "Citus": statement_timings(citus_dsn, timed[0], 200),
        }
        say(f"  {'statement':<46} {'PostgreSQL':>10} {'Citus':>8}")
        for label in statements["PostgreSQL"]:
            say(
                f"  {label:<46} {statements['PostgreSQL'][label]:>10.2f} {statements['Citus'][label]:>8.2f}"
            )

        runs_per_pass = max(1, args.runs // args.passes)
        inbox = {}
        for tenant in timed:
            slug = tenant["company_slug"]
            node = placements["companies"][slug]["node"]
            say(
                f"\nCompany {slug}: {tenant['counts']['conversations']:,} conversations, "
                f"{tenant['counts']['messages']:,} messages; its shard is on {node}. "
                f"Median / p95 ms of {runs_per_pass * args.passes} runs in {args.passes} passes"
            )
            passes: dict[str, list] = {"PostgreSQL": [], "Citus": []}
            for _ in range(args.passes):
                passes["PostgreSQL"].append(
                    inbox_pass(
                        embedded_env(database), dataset_path, slug, runs_per_pass, args.warmup
                    )
                )
                passes["Citus"].append(
                    inbox_pass(
                        citus_env(port, database), dataset_path, slug, runs_per_pass, args.warmup
                    )
                )
            inbox[slug] = {side: merge_passes(found) for side, found in passes.items()}
            inbox[slug]["server_versions"] = {
                side: found[0]["server_version"] for side, found in passes.items()
            }
            print_side_by_side(inbox[slug]["PostgreSQL"], inbox[slug]["Citus"])
    finally:
        if started_cluster and not args.keep_cluster:
            subprocess.run(
                [str(CLUSTER), "stop"], env={**os.environ, "CITUS_PORT": str(port)}, check=False
            )

    report = {
        "database": database,
        "tenants": args.tenants,
        "companies": len(dataset["tenants"]),
        "counts": dataset["counts"],
        "rows": rows,
        "steps_seconds": {label: round(s, 1) for label, s in clock.laps.items()},
        "placements": placements,
        "statements_ms": statements,
        "inbox": inbox,
    }
    out = BENCH / f".citus-compare-{database}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    say(f"\nDone in {time.monotonic() - started:.0f}s; wrote {out}")


if __name__ == "__main__":
    main()
