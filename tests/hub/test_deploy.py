"""Production mode: `manage.py check --deploy` reports nothing with DEBUG off."""

import os
import subprocess
import sys

from django.conf import settings


def _production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        SECRET_KEY="a-production-secret-key-that-is-long-and-random-" + "x7Qp9Lr2Vb" * 3,
        ALLOWED_HOSTS="hub.example.com",
        DEBUG="0",
    )
    return env


def test_check_deploy_is_clean_in_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_secret_key_a_random_one_is_kept_in_the_data_folder(tmp_path):
    env = _production_env()
    del env["SECRET_KEY"]
    env["SECRET_KEY_FILE"] = str(tmp_path / "secret_key")
    command = [sys.executable, "-c", "from django.conf import settings; print(settings.SECRET_KEY)"]
    first = subprocess.run(
        command,
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "hub.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    second = subprocess.run(
        command,
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "hub.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) >= 50
    assert first.stdout == second.stdout
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_collectstatic_builds_hashed_compressed_files_for_production(tmp_path):
    env = {**_production_env(), "STATIC_ROOT": str(tmp_path / "static")}
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    for asset in ("css/dist/styles.css", "vendor/htmx.min.js", "js/app.js"):
        assert f'"{asset}"' in manifest
    assert list((tmp_path / "static" / "css" / "dist").glob("styles.*.css.gz"))
