"""Bounds on database work: no request runs unbounded.

Every connection a web process opens carries DATABASE_STATEMENT_TIMEOUT (hub/settings.py passes
it to the server at connect time, so it costs no statement): PostgreSQL cancels a statement that
runs longer, and the request ends with an error instead of holding a worker while the statement
keeps running after the client has left. Commands run by an operator (`manage.py migrate`, the
task worker, imports) have no timeout unless it is set for them (manage.py).

Paths that must stay fast whatever is typed (search) or run every few seconds (polls) ask for a
shorter one around their statements with `statement_timeout(ms)`.
"""

import contextlib
from collections.abc import Iterator

import psycopg.errors
from django.db import DatabaseError, connection, transaction


class StatementTimedOut(Exception):
    """A statement ran longer than the timeout it was given, and PostgreSQL cancelled it."""


def connection_options(timeout_ms: int) -> str:
    """libpq `options` that set the statement timeout of every session (0: none)."""
    return f"-c statement_timeout={int(timeout_ms)}"


def timed_out(error: BaseException) -> bool:
    """Whether `error` (Django's wrapper or psycopg's own) is a statement cancelled by its
    timeout."""
    return isinstance(error, psycopg.errors.QueryCanceled) or isinstance(
        error.__cause__, psycopg.errors.QueryCanceled
    )


@contextlib.contextmanager
def statement_timeout(timeout_ms: int) -> Iterator[None]:
    """Run the block in a transaction whose statements PostgreSQL cancels after `timeout_ms`
    (`SET LOCAL`: it ends with the transaction). A cancelled statement raises StatementTimedOut;
    the transaction (or savepoint) is rolled back. Inside an outer transaction, the timeout the
    outer one had is put back on the way out (a rolled-back savepoint undoes it by itself)."""
    nested = connection.in_atomic_block
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if nested:
                    cursor.execute(
                        "SELECT current_setting('statement_timeout'),"
                        " set_config('statement_timeout', %s, true)",
                        [str(int(timeout_ms))],
                    )
                    previous = cursor.fetchone()[0]
                else:
                    cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            yield
            if nested:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except DatabaseError as error:
        if timed_out(error):  # the rollback to the savepoint also undid set_config
            raise StatementTimedOut(str(error)) from error
        raise
