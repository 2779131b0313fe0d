"""Server time and query count of the inbox's hot paths on a benchmark dataset.

Build the dataset first (bench/build_dataset.py), then for example:

    EMBEDDED_POSTGRES_DB=hub_bench_1k .venv/bin/python bench/inbox_timings.py
    EMBEDDED_POSTGRES_DB=hub_bench_1m .venv/bin/python bench/inbox_timings.py --runs 30
    EMBEDDED_POSTGRES_DB=hub_bench_tenants .venv/bin/python bench/inbox_timings.py --tenant bench-04

Each scenario runs through Django's full request stack in this process (middleware, session,
view, template), timed with perf_counter: median and p95 of --runs runs after --warmup runs, and
the median time spent in the database driver's execute (statements sent and answered: "db ms").
It also checks that no statement of the list path uses OFFSET. --tenant picks a company of a
multi-company dataset (default: the first); the super admin's cross-company overview is timed too.
"""

import argparse
import contextlib
import html
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SECURE_COOKIES", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# production settings, but static file URLs without a collectstatic manifest
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import User  # noqa: E402
from conversations import selectors  # noqa: E402

HTMX_LIST = {"HX-Request": "true", "HX-Target": "conversation-list"}
HTMX_CHAT = {"HX-Request": "true", "HX-Target": "chat-column"}


def load_dataset(path: Path | None = None) -> dict:
    name = settings.DATABASES["default"]["NAME"]
    path = path or ROOT / "bench" / f".dataset-{name}.json"
    if not path.exists():
        sys.exit(f"No dataset description at {path}: build it with bench/build_dataset.py first.")
    return json.loads(path.read_text())


class StatementTimer:
    """Adds up the time statements spend in the driver (sent, run, answered), as an
    execute_wrapper."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start


def measure(client: Client, url: str, params, headers: dict, runs: int, warmup: int) -> dict:
    if callable(params):  # computed just before the scenario runs (poll tokens)
        params = params()
    for _ in range(warmup):
        client.get(url, params, headers=headers)
    times, db_times, statuses = [], [], set()
    for _ in range(runs):
        timer = StatementTimer()
        with connection.execute_wrapper(timer):
            start = time.perf_counter()
            response = client.get(url, params, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
        db_times.append(timer.seconds * 1000)
        statuses.add(response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params, headers=headers)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, int(round(0.95 * len(times))) - 1)],
        "min_ms": times[0],
        "db_median_ms": statistics.median(db_times),
        "times_ms": times,
        "db_times_ms": db_times,
        "queries": len(queries.captured_queries),
        "status": ",".join(str(s) for s in sorted(statuses)),
        "offset": any(" OFFSET " in q["sql"].upper() for q in queries.captured_queries),
    }


def list_poll(client: Client, url: str, *, change_one: bool = False) -> dict:
    """What the list's poll sends (static/js/app.js): its token, the rows it shows. With
    `change_one`, the fifth row shown then changes (a colleague renamed its subject), so every
    poll with this token brings that row back."""
    page = client.get(url, {"tab": "all"}, headers=HTMX_LIST).content.decode()
    token = re.search(r'id="list-version" name="v" value="([^"]*)"', page).group(1)
    rows = re.findall(r'data-row data-conversation="(\d+)"', page)
    if change_one:
        from django.utils import timezone

        from conversations.models import Conversation

        Conversation.objects.filter(pk=int(rows[4])).update(updated_at=timezone.now())
    shown = ".".join(base36(int(pk)) for pk in rows)
    return {"tab": "all", "v": html.unescape(token), "shown": shown}


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


def search_terms(company) -> list[tuple[str, str]]:
    """What the search is timed with: words of every frequency, a name prefix, an email and a
    phone number of one customer."""
    from customers.models import Customer

    customer = (
        Customer.objects.for_company(company)
        .exclude(email="")
        .exclude(phone="")
        .order_by("pk")
        .values("email", "phone")
        .first()
    ) or {"email": "nobody@example.com", "phone": "+1 555 0100"}
    return [
        ("rare word", "zeppelin"),
        ("common word", "order"),
        ("word nobody wrote", "xylophonist"),
        ("customer name prefix", "mar"),
        ("email of one customer", customer["email"]),
        ("phone of one customer", customer["phone"]),
    ]


def cursor_at(company_id: int, row: int) -> str:
    """The keyset cursor after `row` rows of the All list (found here with OFFSET, once: the
    app itself only ever walks forward from a cursor)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_message_at, id FROM conversations_conversation WHERE company_id = %s"
            " ORDER BY last_message_at DESC, id DESC OFFSET %s LIMIT 1",
            [company_id, row - 1],
        )
        stamp, pk = cursor.fetchone()
    return str(selectors.Cursor(stamp, pk))


def pick_tenant(dataset: dict, slug: str | None) -> dict:
    """The company to time: --tenant's slug, else the first (datasets of one company keep its
    ids at the top level)."""
    tenants = dataset.get("tenants") or [dataset]
    if slug is None:
        return tenants[0]
    for tenant in tenants:
        if tenant.get("company_slug") == slug:
            return tenant
    known = ", ".join(str(t.get("company_slug")) for t in tenants)
    sys.exit(f'No company "{slug}" in this dataset; it has: {known}.')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--tenant", help="slug of the company to time (default: the first)")
    parser.add_argument(
        "--dataset",
        type=Path,
        help="the dataset description (default: bench/.dataset-<database>.json)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    tenant = pick_tenant(dataset, args.tenant)
    admin = User.objects.get(pk=tenant["admin_user_id"])
    agent = User.objects.get(pk=tenant["agent01_user_id"])
    company = admin.company
    admin_client, agent_client = Client(), Client()
    admin_client.force_login(admin)
    agent_client.force_login(agent)
    inbox = reverse("conversations:inbox")
    conversation_200 = tenant["conversation_200_id"]
    # a changed chat poll brings one new message: the agent has seen all but the newest
    second_newest = (
        selectors.chat_messages(
            selectors.conversation_for(agent, company, conversation_200), limit=2
        )
        .messages[0]
        .pk
    )
    # page 400 where the dataset has it, else its last full page (1k conversations = 40 pages)
    total = tenant["counts"]["conversations"]
    page_number = min(400, total // selectors.PAGE_SIZE)

    scenarios = [
        (
            "unchanged list poll",
            admin_client,
            inbox,
            lambda: list_poll(admin_client, inbox),
            HTMX_LIST,
        ),
        (
            "unchanged chat poll",
            agent_client,
            reverse("conversations:poll", args=[conversation_200]),
            lambda: {
                "v": selectors.see_conversation(agent, company, conversation_200).version,
                "last_seen": 0,
            },
            {"HX-Request": "true"},
        ),
        ("inbox first page (All, full page)", admin_client, inbox, {"tab": "all"}, {}),
        (
            "Unassigned tab + WhatsApp filter",
            agent_client,
            inbox,
            {"tab": "unassigned", "channel": "whatsapp"},
            HTMX_LIST,
        ),
        *[
            (
                f"search ({label})",
                admin_client,
                inbox,
                {"tab": "all", "status": "any", "q": text},
                HTMX_LIST,
            )
            for label, text in search_terms(company)
        ],
        (
            "chat pane, 200-message conversation",
            agent_client,
            reverse("conversations:conversation", args=[conversation_200]),
            {},
            HTMX_CHAT,
        ),
        (
            "chat pane, 10,000-message conversation",
            admin_client,
            reverse("conversations:conversation", args=[tenant["conversation_10000_id"]]),
            {},
            HTMX_CHAT,
        ),
        (
            "list poll, one row changed",
            admin_client,
            inbox,
            lambda: list_poll(admin_client, inbox, change_one=True),
            HTMX_LIST,
        ),
        (
            "list poll, token not ours (renders whole)",
            admin_client,
            inbox,
            {"tab": "all", "v": "stale"},
            HTMX_LIST,
        ),
        (
            "changed chat poll",
            agent_client,
            reverse("conversations:poll", args=[conversation_200]),
            {"v": "stale", "last_seen": second_newest},
            {"HX-Request": "true"},
        ),
        (
            f"page {page_number} of the list (load more)",
            admin_client,
            reverse("conversations:more"),
            {
                "tab": "all",
                "status": "any",
                "after": cursor_at(company.pk, (page_number - 1) * selectors.PAGE_SIZE),
            },
            {"HX-Request": "true"},
        ),
    ]
    if dataset.get("super_admin_user_id"):
        super_client = Client()
        super_client.force_login(User.objects.get(pk=dataset["super_admin_user_id"]))
        scenarios.append(
            (
                "system overview (super admin, all companies)",
                super_client,
                reverse("analytics:system-overview"),
                {},
                {},
            )
        )
    companies = len(dataset.get("tenants") or [dataset])
    print(
        f"database {settings.DATABASES['default']['NAME']}, company {company.slug}: "
        f"{tenant['counts']['conversations']:,} conversations, "
        f"{tenant['counts']['messages']:,} messages (dataset: {companies} companies, "
        f"{dataset['counts']['conversations']:,} conversations); {args.runs} runs each\n"
    )
    print(
        f"{'scenario':<44} {'median ms':>10} {'p95 ms':>8} {'db ms':>7} {'queries':>8} "
        f"{'status':>7}"
    )
    offset_seen, results = False, []
    for name, client, url, params, headers in scenarios:
        result = measure(client, url, params, headers, args.runs, args.warmup)
        offset_seen |= result["offset"] and "overview" not in name
        results.append({"scenario": name, **result})
        print(
            f"{name:<44} {result['median_ms']:>10.1f} {result['p95_ms']:>8.1f} "
            f"{result['db_median_ms']:>7.1f} {result['queries']:>8} {result['status']:>7}"
        )
    print("\nOFFSET in the list path:", "YES (bug)" if offset_seen else "none")
    if args.json:
        with contextlib.suppress(FileNotFoundError):
            args.json.unlink()
        args.json.write_text(
            json.dumps(
                {
                    "database": settings.DATABASES["default"]["NAME"],
                    "server_version": connection.cursor().connection.info.server_version,
                    "company_slug": company.slug,
                    "counts": tenant["counts"],
                    "runs": args.runs,
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
