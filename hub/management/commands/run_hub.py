"""`make run`: migrate, load demo data on an empty database, then run the web server, the
background worker and the delivery sweep together until Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import psutil
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from hub.demo import DEMO_PASSWORD, sign_ins


class Command(BaseCommand):
    help = "Run the hub for development: web server and task worker, on the embedded database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args: object, port: str, host: str, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", if_empty=True)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children = [
            subprocess.Popen([*manage, "runserver", f"{host}:{port}"]),
            subprocess.Popen([*manage, "db_worker", "--interval", "1"]),
            # queues again the replies whose delivery task was lost (README, "Sending replies")
            subprocess.Popen([*manage, "sweep_deliveries", "--every", "30"]),
        ]
        self.stdout.write(
            self.style.SUCCESS(f"\nThe hub is running at http://{host}:{port}/  (Ctrl-C stops it)")
        )
        self.stdout.write(f"Sign in with any of these (password: {DEMO_PASSWORD}):")
        for role, email, company in sign_ins():
            self.stdout.write(f"  {role:<14} {email:<24} {company}")
        # `kill` (SIGTERM) stops as cleanly as Ctrl-C: children first, then the embedded database
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(children)
            self.stdout.write("Stopped. Your data is kept in .data/ for next time.")

    def _stop(self, children: list[subprocess.Popen]) -> None:
        """Interrupt the children and wait for them and theirs (the autoreloaders' workers), so the
        embedded database is stopped by this process, the last one using it."""
        descendants = psutil.Process().children(recursive=True)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        _gone, alive = psutil.wait_procs(descendants, timeout=10)
        for process in alive:
            process.kill()
