"""The embedded PostgreSQL server: a clear error when it cannot start."""

import os
import subprocess
import sys

from django.conf import settings


def test_a_server_that_cannot_start_explains_why_and_what_to_do(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["EMBEDDED_POSTGRES_DIR"] = str(blocker / "postgres")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "The embedded PostgreSQL server under" in result.stderr
    assert "set DATABASE_URL=" in result.stderr


def test_the_test_suite_runs_on_a_throwaway_database():
    assert settings.DATABASES["default"]["NAME"].startswith("test_")


def test_make_db_stop_stops_an_idle_server_and_says_when_one_is_in_use(tmp_path):
    """`make db-stop` once always answered "Still in use": it looked for the server's command line
    and found its own shell. Here a server on a folder of its own is held by one process, then
    by none."""
    data_dir = tmp_path / "postgres"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MAKEFLAGS"}}
    env["EMBEDDED_POSTGRES_DIR"] = str(data_dir)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import pathlib, sys; from hub import embedded_postgres as pg; "
            f"pg.start(pathlib.Path({str(data_dir)!r})); print('up', flush=True); "
            "sys.stdin.read()",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "up"

        def db_stop() -> str:
            result = subprocess.run(
                ["make", "--no-print-directory", "db-stop"],
                cwd=settings.BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            return result.stdout.strip().splitlines()[-1]

        assert db_stop() == "Still in use by a running hub process."
        holder.stdin.close()  # the holder leaves, stopping the server as the last one using it
        holder.wait(timeout=60)
        assert db_stop() == "Embedded PostgreSQL stopped."
        from hub.embedded_postgres import server_running

        assert not server_running(data_dir)
    finally:
        if holder.poll() is None:
            holder.kill()
