"""Webhooks in and replies out, against the production server over loopback.

    .venv/bin/python bench/webhooks.py
    .venv/bin/python bench/webhooks.py --requests 4000 --concurrency 16 --workers 4 --json out.json

On its own database (EMBEDDED_POSTGRES_DB, default hub_bench_webhooks), in one run:

1. **Stored per second.** Signed WhatsApp text deliveries (each its own message id, from 500
   customers) POSTed to `/webhooks/whatsapp/<key>/` by --concurrency client threads, against
   gunicorn with --workers sync workers (`hub.wsgi`, DEBUG off, as production runs it), alternating
   in rounds with a bare Django view on the same server that does one INSERT of the body and
   nothing else (no inbox lookup, no signature, no task). The webhook's rate is reported against
   the bare view's (goal: at least half).
2. **None lost, none duplicated.** Every 200 is one stored delivery; then --task-workers
   `db_worker` processes work through them, and every message id sent is exactly one message.
3. **Latency.** With the task workers running, --latency-requests deliveries at --rate per
   second: from the webhook's 200 to its message being in the agent's conversation list (the
   message row and its conversation update commit together), p50 and p95.
4. **Sends per second.** --sends agent replies, one per conversation, delivered by the task
   workers to the local Graph API server (inboxes/local_providers/graph.py); each must reach it
   exactly once.
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("EMBEDDED_POSTGRES_DB", "hub_bench_webhooks")
SERVER_ENV = {
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(SERVER_ENV)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from companies.models import Company  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from customers.models import Customer  # noqa: E402
from inboxes.local_providers.graph import LocalGraphServer  # noqa: E402
from inboxes.models import Inbox, WebhookDelivery  # noqa: E402

PHONE_NUMBER_ID = "109000000000001"
APP_SECRET = "bench-app-secret"
CUSTOMERS = 500


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare() -> tuple[Company, Inbox, User]:
    """A clean company with one WhatsApp inbox and an agent (earlier runs' rows removed)."""
    call_command("migrate", interactive=False, verbosity=0)
    company, _ = Company.objects.get_or_create(
        slug="bench-webhooks", defaults={"name": "Bench Webhooks", "max_channels": 10}
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_tasks_database_dbtaskresult")
    for model in (Message, Conversation, WebhookDelivery):
        model.objects.filter(company=company).delete()
    from customers.models import CustomerIdentity

    CustomerIdentity.objects.filter(company=company).delete()
    Customer.objects.filter(company=company).delete()
    Inbox.objects.filter(company=company).delete()
    inbox = Inbox.objects.create(
        company=company,
        kind="whatsapp",
        name="Bench WhatsApp",
        credentials={
            "phone_number_id": PHONE_NUMBER_ID,
            "business_account_id": "109000000000000",
            "access_token": "bench-token",
            "app_secret": APP_SECRET,
        },
    )
    agent = User.objects.filter(email="bench-agent@bench.example").first() or (
        User.objects.create_user(
            "bench-agent@bench.example", None, role=Role.AGENT, company=company, first_name="Bea"
        )
    )
    return company, inbox, agent


def payload(n: int, run: str) -> tuple[str, bytes]:
    """A WhatsApp text delivery as Meta sends it: its message id and body."""
    wamid = f"wamid.bench.{run}.{n}"
    customer = f"1555{n % CUSTOMERS:07d}"
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "109000000000000",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550100",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [
                                {"profile": {"name": f"Customer {customer}"}, "wa_id": customer}
                            ],
                            "messages": [
                                {
                                    "from": customer,
                                    "id": wamid,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": f"Hello, this is message {n}."},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return wamid, json.dumps(body).encode()


def post(port: int, path: str, body: bytes, *, signed: bool) -> int:
    headers = {"Content-Type": "application/json"}
    if signed:
        digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Server:
    """gunicorn (and later db_worker processes) as children, stopped at the end."""

    def __init__(self, *, workers: int, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.web = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "hub.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**self.env, "DJANGO_SETTINGS_MODULE": "bench.webhook_settings"},
        )
        self.task_workers: list[subprocess.Popen] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        sys.exit("gunicorn did not answer /healthz within 60 s")

    def start_task_workers(self, count: int, *, interval: float, env: dict[str, str]) -> None:
        for n in range(count):
            self.task_workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        str(ROOT / "manage.py"),
                        "db_worker",
                        "--interval",
                        str(interval),
                        "--no-startup-delay",
                        "--no-reload",
                        "--worker-id",
                        f"bench-{os.getpid()}-{len(self.task_workers)}-{n}",
                        "--verbosity",
                        "0",
                    ],
                    cwd=ROOT,
                    env={**self.env, **env},
                    stdout=subprocess.DEVNULL,
                )
            )

    def stop_task_workers(self) -> None:
        for worker in self.task_workers:
            worker.send_signal(signal.SIGTERM)
        for worker in self.task_workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.task_workers = []

    def stop(self) -> None:
        self.stop_task_workers()
        self.web.send_signal(signal.SIGTERM)
        try:
            self.web.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.web.kill()


def blast(
    port: int, path: str, bodies: list[bytes], *, signed: bool, concurrency: int
) -> tuple[float, list[int]]:
    """POST every body with `concurrency` threads; seconds taken and each answer's status."""
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(lambda body: post(port, path, body, signed=signed), bodies))
    return time.perf_counter() - start, statuses


def wait_for(condition, *, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            sys.exit(f"Gave up waiting {timeout:.0f} s for {what}.")
        time.sleep(0.2)
    return time.monotonic() - start


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="webhooks (and bare inserts)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of each")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--task-workers", type=int, default=2, help="db_worker processes")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="db_worker --interval")
    parser.add_argument("--latency-requests", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="latency phase, webhooks/s")
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    company, inbox, agent = prepare()
    run = datetime.now(UTC).strftime("%H%M%S")
    webhook_path = f"/webhooks/whatsapp/{inbox.public_key}/"
    env = {"BENCH_COMPANY_ID": str(company.pk), "BENCH_INBOX_ID": str(inbox.pk), **SERVER_ENV}
    server = Server(workers=args.workers, env=env)
    results: dict[str, object] = {
        "gunicorn_workers": args.workers,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
    }
    try:
        # --- 1. stored per second, webhook and bare view alternating
        messages = [payload(n, run) for n in range(args.requests)]
        sent_ids = [wamid for wamid, _ in messages]
        warm = [payload(10**7 + n, run)[1] for n in range(100)]
        blast(server.port, "/bench/bare-insert/", warm, signed=False, concurrency=args.concurrency)
        per_round = -(-args.requests // args.rounds)
        webhook_time = bare_time = 0.0
        statuses: list[int] = []
        bare_statuses: list[int] = []
        for start in range(0, args.requests, per_round):
            bodies = [body for _, body in messages[start : start + per_round]]
            seconds, answers = blast(
                server.port,
                "/bench/bare-insert/",
                bodies,
                signed=False,
                concurrency=args.concurrency,
            )
            bare_time += seconds
            bare_statuses += answers
            seconds, answers = blast(
                server.port, webhook_path, bodies, signed=True, concurrency=args.concurrency
            )
            webhook_time += seconds
            statuses += answers
        webhook_rate, bare_rate = len(statuses) / webhook_time, len(bare_statuses) / bare_time
        stored = WebhookDelivery.objects.filter(company=company, inbox=inbox).exclude(
            state=WebhookDelivery.State.IGNORED
        )
        results["stored"] = {
            "webhooks_per_second": round(webhook_rate, 1),
            "bare_insert_per_second": round(bare_rate, 1),
            "ratio": round(webhook_rate / bare_rate, 2),
            "answered_200": statuses.count(200),
            "other_answers": sorted({s for s in statuses if s != 200}),
            "rows_stored": stored.count(),
        }
        print(f"stored: {results['stored']}", flush=True)

        # --- 2. processed: none lost, none duplicated
        server.start_task_workers(args.task_workers, interval=args.poll_interval, env=env)
        processing = wait_for(
            lambda: not stored.filter(state=WebhookDelivery.State.RECEIVED).exists(),
            timeout=1800,
            what="the task workers to process every delivery",
        )
        inbound = Message.objects.filter(company=company, inbox=inbox, sender_type="customer")
        stored_ids = list(inbound.values_list("provider_message_id", flat=True))
        results["processed"] = {
            "seconds": round(processing, 1),
            "deliveries_per_second": round(len(statuses) / processing, 1) if processing else None,
            "messages": len(stored_ids),
            "distinct": len(set(stored_ids)),
            "missing": len(set(sent_ids) - set(stored_ids)),
            "states": dict(stored.values_list("state").annotate(n=Count("*"))),
            "conversations": Conversation.objects.filter(company=company).count(),
        }
        print(f"processed: {results['processed']}", flush=True)

        # --- 3. latency, webhook accepted -> message in the agent's list
        accepted: dict[str, float] = {}
        interval = 1 / args.rate
        for n in range(args.latency_requests):
            wamid, body = payload(2 * 10**7 + n, run)
            tick = time.perf_counter()
            if post(server.port, webhook_path, body, signed=True) == 200:
                accepted[wamid] = time.time()
            time.sleep(max(0.0, interval - (time.perf_counter() - tick)))
        wait_for(
            lambda: inbound.filter(provider_message_id__in=list(accepted)).count() == len(accepted),
            timeout=300,
            what="the latency phase's messages",
        )
        arrived = dict(
            inbound.filter(provider_message_id__in=list(accepted)).values_list(
                "provider_message_id", "created_at"
            )
        )
        latencies = [(arrived[w].timestamp() - t) * 1000 for w, t in accepted.items()]
        results["latency_ms"] = {
            "rate_per_second": args.rate,
            "poll_interval_s": args.poll_interval,
            "p50": round(statistics.median(latencies), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "max": round(max(latencies), 1),
        }
        print(f"latency: {results['latency_ms']}", flush=True)
        server.stop_task_workers()

        # --- 4. sends per second to the local Graph API
        with LocalGraphServer() as graph:
            send_env = {**env, "GRAPH_API_BASE_URL": graph.url}
            from conversations import services

            conversations = list(
                Conversation.objects.filter(company=company, inbox=inbox).order_by("id")[
                    : args.sends
                ]
            )
            # workers up first (a Django process takes a moment to start), then the replies are
            # written here one by one and each queued on commit, as the reply view does
            server.start_task_workers(args.task_workers, interval=args.poll_interval, env=send_env)
            time.sleep(5)
            start = time.monotonic()
            replies = []
            for conversation in conversations:
                last = Message.objects.filter(company=company, conversation=conversation).order_by(
                    "-id"
                )
                replies.append(
                    services.send_agent_reply(
                        agent,
                        company_id=company.pk,
                        conversation_id=conversation.pk,
                        content="Thanks, we are on it.",
                        last_seen_message_id=last.values_list("id", flat=True).first(),
                    ).pk
                )
            outgoing = Message.objects.filter(company=company, pk__in=replies)
            wait_for(
                lambda: not outgoing.filter(delivery_status="pending").exists(),
                timeout=600,
                what="the replies to be sent",
            )
            seconds = time.monotonic() - start
            sends = graph.sends()
            recipients = [request.json["to"] for request in sends]
            results["sends"] = {
                "replies": len(replies),
                "seconds": round(seconds, 2),
                "per_second": round(len(replies) / seconds, 1),
                "statuses": dict(outgoing.values_list("delivery_status").annotate(n=Count("*"))),
                "graph_received": len(sends),
                "graph_distinct_recipients": len(set(recipients)),
            }
            print(f"sends: {results['sends']}", flush=True)
    finally:
        server.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
