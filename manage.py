#!/usr/bin/env python
"""Django's command-line entry point for the hub."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    # commands an operator runs (migrate, the task worker, imports) may take long statements:
    # no statement timeout for them unless DATABASE_STATEMENT_TIMEOUT says otherwise; the web
    # server keeps the default (hub/settings.py)
    if len(sys.argv) > 1 and sys.argv[1] not in {"runserver", "testserver"}:
        os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "0")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
