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
