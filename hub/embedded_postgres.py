"""A private PostgreSQL server under `.data/postgres`, used whenever DATABASE_URL is unset.

pgserver ships real PostgreSQL binaries in a wheel and runs them as a user of its own when we are root
(PostgreSQL refuses to run as root). The server is shared by every hub process on the machine and stops
when the last of them exits; its data stays for next time.
"""

import atexit
import json
import os
import signal
import warnings
from pathlib import Path

DEFAULT_DATABASE_NAME = "hub"


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be started or reached."""


def _explain(data_dir: Path, error: Exception) -> EmbeddedPostgresError:
    return EmbeddedPostgresError(
        f"The embedded PostgreSQL server under {data_dir} could not start: {error}. "
        "The hub starts a private PostgreSQL (from the pgserver wheel) when DATABASE_URL is unset. "
        "Check that the folder is writable and the disk has room, look at its log in "
        f"{data_dir / 'log'}, stop any stale server with `make db-stop` (or delete {data_dir} "
        "to start over with no data), or set DATABASE_URL=postgres://user:pass@host:5432/dbname "
        "to use a PostgreSQL server of your own."
    )


def _forget_dead_handles(data_dir: Path) -> None:
    """Keep pgserver's list of processes using the server true: drop processes that died without
    saying goodbye (SIGKILL, a crash) and repair a list cut short, so that the last live process
    still stops the server when it exits."""
    import psutil
    from pgserver.postgres_server import PostgresServer

    handles = data_dir / ".handle_pids.json"
    with PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids = [int(pid) for pid in json.loads(handles.read_text())]
        except ValueError:
            pids = []
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(alive))


def _prepare_exit(data_dir: Path) -> None:
    """Runs just before pgserver's own exit handler (atexit runs handlers last-in, first-out):
    a second Ctrl-C must not cut its update of the shared handle list in half, and processes that
    died without cleaning up must not keep the server running after the last live one leaves."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _forget_dead_handles(data_dir)


def start(data_dir: Path, database: str = DEFAULT_DATABASE_NAME) -> dict[str, str]:
    """Start the server (or join the one already running) and return Django connection settings."""
    warnings.filterwarnings("ignore", module="platformdirs")
    try:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
        import pgserver
        import psycopg

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(data_dir)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        atexit.register(_prepare_exit, data_dir)
        info = server.get_postmaster_info()
        host = str(info.socket_dir) if info.socket_dir else info.hostname
        port = str(info.port or 5432)
        with psycopg.connect(
            host=host, port=port, user="postgres", dbname="postgres", autocommit=True
        ) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{database}"')
    except Exception as error:  # every failure is reported the same way, with what to do next
        raise _explain(data_dir, error) from error
    # keep a reference so the server is stopped only when this process exits
    start.server = server  # type: ignore[attr-defined]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": database,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": host,
        "PORT": port,
    }


def server_running(data_dir: Path) -> bool:
    """Whether a PostgreSQL server runs on `data_dir`: its postmaster.pid names a live process.
    (Matching command lines instead would also match the shell that asks.)"""
    import psutil

    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    return psutil.pid_exists(pid)


def wait_until_stopped(data_dir: Path, seconds: float = 3.0) -> bool:
    """True once the server on `data_dir` has stopped; False if it still runs after `seconds`."""
    import time

    deadline = time.monotonic() + seconds
    while server_running(data_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
