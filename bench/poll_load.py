"""List polls over real HTTP with many agents at once: what an unchanged poll costs against a full
list render, and how many polls are answered 204 while customers keep writing.

Build a dataset first (bench/build_dataset.py), then for example:

    EMBEDDED_POSTGRES_DB=hub_bench_1m .venv/bin/python bench/poll_load.py --agents 50 --seconds 60

It starts gunicorn (hub.wsgi, --workers sync workers, production settings, static files
collected into a temporary folder) on the dataset's database and signs in --agents browser
sessions, spread over the company's agents and its admin. Server time is what gunicorn logs
for each request (%(D)s: from reading the request to the last byte written), so the figures are
the server's, over real HTTP, with sessions, middleware and persistent connections as deployed.

1. every session renders its list (--renders times): the full list render;
2. every session polls --quiet-polls times while nothing changes: the unchanged poll;
3. for --seconds, a customer writes every 1/--replies-per-second s in a random conversation
   (a message, the conversation bumped as the inbound service does) while every session polls
   every --interval s (staggered); one more admin session has loaded --deep-pages more pages
   ("load more") and polls too. Printed: how many polls got 204, and the size and server time of
   those that did not.

DATABASE_CONN_MAX_AGE=0 in the environment shows the cost of a new connection per request.
"""

import argparse
import html
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from inbox_timings import load_dataset, pick_tenant  # noqa: E402

LIST = {"HX-Request": "true", "HX-Target": "conversation-list"}
TOKEN = re.compile(r'id="list-version" name="v" value="([^"]*)"')
THROUGH = re.compile(r'id="list-through" name="through" value="([^"]*)"')
ROW = re.compile(r'<li id="conv-(\d+)"')
REMOVED = re.compile(r'data-remove="conv-(\d+)"')
LOAD_MORE = re.compile(r'hx-get="(/inbox/more/[^"]*)"')


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


class Agent:
    """One browser session: its list's token, rows and depth, kept as app.js keeps them."""

    def __init__(self, base: str, user: User, tab: str) -> None:
        client = Client()
        client.force_login(user)
        self.http = requests.Session()
        self.http.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies["sessionid"].value)
        self.base, self.tab = base, tab
        self.token, self.through, self.shown = "", "", []
        self.lock = threading.Lock()

    def get(self, path: str, params: dict, kind: str) -> requests.Response:
        return self.http.get(
            self.base + path, params=params, headers={**LIST, "X-Bench": kind}, timeout=30
        )

    def render(self) -> None:
        page = self.get("/inbox/", {"tab": self.tab}, "render").text
        self.token = html.unescape(TOKEN.search(page).group(1))
        self.through = html.unescape(THROUGH.search(page).group(1))
        self.shown = [int(pk) for pk in ROW.findall(page)]

    def load_more(self, pages: int) -> None:
        page = self.get("/inbox/", {"tab": self.tab}, "render").text
        for _ in range(pages):
            more = LOAD_MORE.search(page)
            if not more:
                break
            page = self.http.get(
                self.base + html.unescape(more.group(1)),
                headers={"HX-Request": "true", "X-Bench": "more"},
                timeout=30,
            ).text
        # the poll token of the first page is still the list's (load more does not change it)
        self.through = html.unescape(THROUGH.search(page).group(1))

    def poll(self, kind: str) -> tuple[int, int]:
        with self.lock:
            params = {
                "tab": self.tab,
                "v": self.token,
                "through": self.through,
                "shown": ".".join(base36(pk) for pk in self.shown),
            }
            response = self.get("/inbox/", params, kind)
            body = response.text
            if response.status_code == 204:
                self.token = response.headers.get("X-List-Version", self.token)
            elif response.status_code == 200 and 'id="list-updates"' in body:
                self.token = html.unescape(TOKEN.search(body).group(1))
                gone = {int(pk) for pk in REMOVED.findall(body)}
                rows = [int(pk) for pk in ROW.findall(body)]
                self.shown = rows + [pk for pk in self.shown if pk not in gone and pk not in rows]
            elif response.status_code == 200:  # rendered whole
                self.token = html.unescape(TOKEN.search(body).group(1))
                self.shown = [int(pk) for pk in ROW.findall(body)]
            return response.status_code, len(response.content)


def start_server(port: int, workers: int, log: Path, static_root: Path) -> subprocess.Popen:
    env = {**os.environ, "STATIC_ROOT": str(static_root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "hub.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            str(log),
            "--access-logformat",
            "%({x-bench}i)s %(s)s %(D)s %(B)s",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if server.poll() is not None:
            sys.exit(f"gunicorn exited (is port {port} in use?)")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).ok:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.1)
    server.terminate()
    sys.exit("gunicorn did not start")


def read_log(log: Path) -> dict[tuple[str, str], list[tuple[float, int]]]:
    """(kind, status) -> [(server ms, bytes)] from gunicorn's access log."""
    entries: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for line in log.read_text().splitlines():
        kind, status, micros, size = line.split()
        entries.setdefault((kind, status), []).append(
            (int(micros) / 1000, 0 if size == "-" else int(size))
        )
    return entries


def summary(values: list[tuple[float, int]]) -> str:
    times = sorted(ms for ms, _ in values)
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    size = statistics.median(b for _, b in values)
    return f"{len(times):>6} {statistics.median(times):>10.2f} {p95:>8.2f} {size / 1024:>9.1f}"


def customer_writes(company_id: int, low: int, high: int, stop: threading.Event, rate: float):
    """A customer message every 1/rate s in a random conversation, as the inbound service."""
    written = 0
    while not stop.is_set():
        started = time.monotonic()
        conversation = (
            Conversation.objects.filter(company_id=company_id, pk__gte=random.randint(low, high))
            .order_by("pk")
            .first()
        )
        if conversation is not None:
            now = timezone.now()
            Message.objects.create(
                company_id=company_id,
                conversation=conversation,
                inbox_id=conversation.inbox_id,
                content="Any update on this?",
                sender_type="customer",
                timestamp=now,
                delivery_status="delivered",
            )
            Conversation.objects.filter(company_id=company_id, pk=conversation.pk).update(
                last_message_at=now, updated_at=now, unread_count=F("unread_count") + 1
            )
            written += 1
        stop.wait(max(0.0, 1 / rate - (time.monotonic() - started)))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--renders", type=int, default=3)
    parser.add_argument("--quiet-polls", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--replies-per-second", type=float, default=1.0)
    parser.add_argument("--deep-pages", type=int, default=20)
    parser.add_argument(
        "--concurrency",
        type=int,
        help="requests at once in steps 1 and 2 (default: --workers)",
    )
    parser.add_argument("--tenant", help="slug of the company (default: the first)")
    args = parser.parse_args()
    tenant = pick_tenant(load_dataset(), args.tenant)
    company_id = User.objects.get(pk=tenant["admin_user_id"]).company_id
    staff = list(User.objects.filter(company_id=company_id, is_active=True).order_by("role", "pk"))
    work = Path(tempfile.mkdtemp(prefix="poll-load-"))
    log = work / "access.log"
    server = start_server(args.port, args.workers, log, work / "static")
    base = f"http://127.0.0.1:{args.port}"
    try:
        agents = [
            Agent(base, user, "all" if user.role == Role.COMPANY_ADMIN else "mine")
            for user in (staff[i % len(staff)] for i in range(args.agents))
        ]
        deep = Agent(base, User.objects.get(pk=tenant["admin_user_id"]), "all")
        pool = ThreadPoolExecutor(max_workers=args.concurrency or args.workers)
        for _ in range(args.renders):
            list(pool.map(lambda agent: agent.render(), agents))
        deep.render()
        deep.load_more(args.deep_pages)
        for _ in range(args.quiet_polls):
            list(pool.map(lambda agent: agent.poll("quiet-poll"), agents))
        deep.poll("quiet-deep-poll")

        low, high = (
            Conversation.objects.filter(company_id=company_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:1][0],
            Conversation.objects.filter(company_id=company_id)
            .order_by("-pk")
            .values_list("pk", flat=True)[:1][0],
        )
        stop = threading.Event()
        writer = ThreadPoolExecutor(max_workers=1).submit(
            customer_writes, company_id, low, high, stop, args.replies_per_second
        )
        deadline = time.monotonic() + args.seconds
        everyone = [*agents, deep]
        next_poll = {id(a): time.monotonic() + random.uniform(0, args.interval) for a in everyone}

        def keep_polling(agent: Agent) -> None:
            kind = "deep-poll" if agent is deep else "busy-poll"
            while True:
                wait = next_poll[id(agent)] - time.monotonic()
                if time.monotonic() + max(wait, 0) > deadline:
                    return
                time.sleep(max(wait, 0))
                agent.poll(kind)
                next_poll[id(agent)] += args.interval

        with ThreadPoolExecutor(max_workers=len(everyone)) as pollers:
            list(pollers.map(keep_polling, everyone))
        stop.set()
        replies = writer.result()
    finally:
        server.terminate()
        server.wait(timeout=30)
    time.sleep(1)  # the workers' last log lines
    entries = read_log(log)
    if os.environ.get("KEEP_LOG"):
        print(log)
    else:
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"database {settings.DATABASES['default']['NAME']}: "
        f"{tenant['counts']['conversations']:,} conversations; {args.agents} sessions over "
        f"{len(staff)} staff, gunicorn {args.workers} sync workers, CONN_MAX_AGE "
        f"{settings.DATABASES['default']['CONN_MAX_AGE']}\n"
    )
    print(f"{'requests':<44} {'count':>6} {'median ms':>10} {'p95 ms':>8} {'median kB':>9}")
    labels = [
        (("render", "200"), "full list render (first page)"),
        (("quiet-poll", "204"), "unchanged poll (204)"),
        (("quiet-deep-poll", "204"), f"unchanged poll, {args.deep_pages} pages loaded (204)"),
        (("busy-poll", "204"), "poll during replies: 204"),
        (("busy-poll", "200"), "poll during replies: changed rows"),
        (("deep-poll", "204"), f"  {args.deep_pages} pages loaded: 204"),
        (("deep-poll", "200"), f"  {args.deep_pages} pages loaded: changed rows"),
    ]
    for key, label in labels:
        if entries.get(key):
            print(f"{label:<44} {summary(entries[key])}")
    for (kind, status), values in sorted(entries.items()):
        if status not in ("200", "204"):
            print(f"unexpected: {kind} answered {status} {len(values)} times")
    render = statistics.median(ms for ms, _ in entries[("render", "200")])
    quiet = statistics.median(ms for ms, _ in entries.get(("quiet-poll", "204"), [(0, 0)]))
    busy = [s for k, v in entries.items() if k[0] == "busy-poll" for s in [k[1]] * len(v)]
    print(
        f"\nunchanged poll / full render: {quiet / render:.3f} (goal: at most 0.1); "
        f"{replies} replies in {args.seconds} s; "
        f"{busy.count('204')} of {len(busy)} polls during replies answered 204"
    )


if __name__ == "__main__":
    main()
