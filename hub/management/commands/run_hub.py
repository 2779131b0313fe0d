"""`make run`: migrate, load demo data on an empty database, then run the web server, the
background worker and the delivery sweep together until Ctrl-C. Unless GRAPH_API_BASE_URL is set,
a local Graph API server (inboxes/local_providers/graph.py) runs beside them: the hub's WhatsApp
sends go to it, and it answers with signed sent/delivered status webhooks, as Meta would."""

import os
import signal
import subprocess
import sys
import time

import psutil
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from hub.demo import DEMO_PASSWORD, sign_ins
from inboxes.channels import adapter_for
from inboxes.channels.meta import credential
from inboxes.local_providers.graph import LocalGraphServer, sample_png
from inboxes.models import Inbox


class Command(BaseCommand):
    help = "Run the hub for development: web server and task worker, on the embedded database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument(
            "--graph-port",
            type=int,
            default=int(os.environ.get("LOCAL_GRAPH_PORT", "8765")),
            help="port of the local Graph API server (when GRAPH_API_BASE_URL is not set)",
        )

    def handle(
        self, *args: object, port: str, host: str, graph_port: int, **options: object
    ) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo", if_empty=True)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        environment = dict(os.environ)
        graph = None
        if not os.environ.get("GRAPH_API_BASE_URL"):
            graph = LocalGraphServer(graph_port).start()
            environment["GRAPH_API_BASE_URL"] = graph.url
        children = [
            subprocess.Popen([*manage, "runserver", f"{host}:{port}"], env=environment),
            subprocess.Popen([*manage, "db_worker", "--interval", "1"], env=environment),
            # queues again the replies whose delivery task was lost (README, "Sending replies")
            subprocess.Popen([*manage, "sweep_deliveries", "--every", "30"], env=environment),
        ]
        self.stdout.write(
            self.style.SUCCESS(f"\nThe hub is running at http://{host}:{port}/  (Ctrl-C stops it)")
        )
        if graph is not None:
            self._connect_local_graph(graph, f"http://{host}:{port}")
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
            if graph is not None:
                graph.stop()
            self.stdout.write("Stopped. Your data is kept in .data/ for next time.")

    def _connect_local_graph(self, graph: LocalGraphServer, hub_url: str) -> None:
        """Subscribe every WhatsApp inbox to the local Graph server (status webhooks back to the
        hub) and give it a demo image, so a newcomer can try the whole loop (see the README)."""
        graph.add_media("demo-image-1", sample_png(), "image/png")
        self.stdout.write(f"Local WhatsApp (Graph API) server: {graph.url}")
        for inbox in Inbox.objects.filter(kind="whatsapp", is_active=True).order_by("id"):
            adapter = adapter_for(inbox)
            secret = credential(inbox, "app_secret")
            if not adapter.account_id(inbox) or not secret:
                continue
            path = reverse(
                "inboxes:webhook", kwargs={"kind": inbox.kind, "public_key": inbox.public_key}
            )
            graph.subscribe(
                adapter.account_id(inbox),
                webhook_url=hub_url + path,
                app_secret=secret,
                business_account_id=credential(inbox, "business_account_id") or "0",
            )
            self.stdout.write(
                f"  inbox {inbox.pk:<4} {inbox.name:<26} try: python manage.py send_test_webhook "
                f"{inbox.pk} inboxes/local_providers/examples/whatsapp_text.json"
            )

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
