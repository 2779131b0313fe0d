"""Shared test setup: production-like settings served over plain HTTP, factories, a browser."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Role, User
from tests.factories import CompanyFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# tests/citus/ holds what only a Citus cluster can check (router plans); `make test-citus` runs it
collect_ignore = [] if os.environ.get("CITUS_WORKERS") else ["citus"]

# oidc_provider / sso_settings: a real OpenID provider on loopback for the single sign-on tests
pytest_plugins = ["tests.oidc_fixtures", "tests.mail_servers"]


def pytest_configure(config: pytest.Config) -> None:
    # `make test-citus`: the test database becomes a Citus cluster database before it migrates
    from tests.citus import prepare

    prepare.connect()
    # Tests run with DEBUG off, as production does, but over plain HTTP and without collectstatic.
    # a fast hasher: thousands of users are made in tests, none need a strong hash
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # nothing reaches the internet: a test that wants a provider starts its local server and
    # points the setting at it; the rest get a refused connection on loopback at once
    settings.GRAPH_API_BASE_URL = "http://127.0.0.1:9"
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # sign-in throttling needs a request in every authenticate(); tests/accounts/test_throttle.py
    # switches it on
    settings.AXES_ENABLED = False
    # files tests store (message attachments) go to a folder of this run, not the checkout's
    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="hub-test-media-"))
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session", autouse=True)
def _citus_cluster(request: pytest.FixtureRequest) -> Iterator[None]:
    """On a Citus cluster, lets the run drop its test database at the end."""
    from tests.citus import prepare

    if not prepare.workers():
        yield
        return
    request.getfixturevalue("django_db_setup")
    from django.db import connection

    name = connection.settings_dict["NAME"]
    yield
    connection.close()
    prepare.release(name)


@pytest.fixture
def company(db):
    return CompanyFactory()


@pytest.fixture
def other_company(db):
    return CompanyFactory()


@pytest.fixture
def agent(company) -> User:
    return UserFactory(company=company, role=Role.AGENT)


@pytest.fixture
def company_admin(company) -> User:
    return UserFactory(company=company, role=Role.COMPANY_ADMIN)


@pytest.fixture
def super_admin(db) -> User:
    return UserFactory(company=None, role=Role.SUPER_ADMIN)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
