"""Build a benchmark dataset (one big company, or several) in the current database, fast, in PostgreSQL itself.

    EMBEDDED_POSTGRES_DB=hub_bench_1m .venv/bin/python bench/build_dataset.py \\
        --conversations 1000000 --messages-per-conversation 10
    EMBEDDED_POSTGRES_DB=hub_bench_tenants .venv/bin/python bench/build_dataset.py \\
        --tenants 40000,25000,15000,2500x8

--tenants builds one company per size given (conversations each; "2500x8" is eight companies of
2,500): "bench" (bench.example), then "bench-02" (bench02.example) and so on, each with its own
admin, agents, inboxes, customers and two long conversations; a super admin (super@bench.example)
is made in every dataset.

The caller picks the database (EMBEDDED_POSTGRES_DB on the embedded server, or DATABASE_URL). The
script refuses the dev databases ("hub", "test_hub"), any database holding a company other than its own
"bench" ones, and a database already built (pass --rebuild to drop and recreate that database first).

Everything is generated server-side with generate_series and hash-based pseudo-randomness (so the
same arguments give the same data), in one transaction: a failed build leaves nothing behind. The
indexes and constraints of the three big tables are dropped for the load and recreated afterwards; the
script checks that pg_indexes and pg_constraint read exactly as before. It writes the ids a timing
script needs to bench/.dataset-<database>.json.
"""

import argparse
import functools
import json
import math
import os
import random
import sys
import time
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
# building and moving data runs long statements (index builds): no statement timeout
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT", "0")

BENCH_SLUG = "bench"
BENCH_DOMAIN = "bench.example"
PASSWORD = "bench-pass-2026"
AGENT_COUNT = 20
PROTECTED_DATABASES = {"hub", "test_hub"}
CONVERSATION_BATCH = 100_000
MESSAGE_BATCH = 1_000_000
SPECIAL_SIZES = (200, 10_000)  # the newest in-progress conversation of agent01, then the next one

FIRST_NAMES = (
    "Maria", "James", "Aiko", "Liam", "Fatima", "Noah", "Sofia", "Lucas", "Amara", "Ethan",
    "Mei", "Oliver", "Isabella", "Mateo", "Zoe", "Arjun", "Emma", "Kenji", "Chiara", "Samuel",
    "Olivia", "Yusuf", "Hannah", "Diego", "Leila", "Victor", "Grace", "Tomás", "Nia", "Ravi",
    "Ana", "Ben", "Chloe", "Hana", "Ivan", "Jade", "Karim", "Lena", "Marco", "Nora",
    "Omar", "Paula", "Quentin", "Rosa", "Sven", "Tara", "Uma", "Valentin", "Wei", "Ximena",
    "Yara", "Zane", "Adele", "Bruno", "Carmen", "Dmitri", "Elif", "Felix", "Giulia", "Hugo",
    "Ines", "Jonas", "Kaito", "Lucía", "Malik", "Nadia", "Oscar", "Priya", "Rafael", "Sara",
    "Theo", "Ursula", "Vera", "William", "Xavier", "Yuki", "Zara", "Anders", "Björn", "Camille",
    "Dara", "Emil", "Farah", "Gustavo", "Helena", "Idris", "Julia", "Kofi", "Laila", "Mila",
    "Nico", "Olga", "Pedro", "Renée", "Santiago", "Tomasz", "Ulrich", "Viktor", "Wanjiru", "Yasmin",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Tanaka", "O'Brien", "Zahra", "Müller", "Rossi", "Martin", "Okafor", "Brown",
    "Chen", "Jones", "Costa", "Fernández", "Williams", "Patel", "Johansson", "Watanabe", "Bianchi",
    "Adeyemi", "Taylor", "Demir", "Schmidt", "Ramírez", "Haddad", "Dubois", "Lee", "Novak",
    "Mensah", "Sharma", "Silva", "Carter", "Nguyen", "Kim", "Petrov", "Moreau", "Andersen", "Becker",
    "Castillo", "Dimitrov", "Eriksson", "Fischer", "Gomez", "Hoffmann", "Ibrahim", "Jensen",
    "Kowalski", "Lopez", "Mahmoud", "Nielsen", "Ortiz", "Popescu", "Quinn", "Romero", "Santos",
    "Torres", "Ueda", "Vargas", "Wagner", "Xu", "Yilmaz", "Zimmermann", "Alvarez", "Baptiste",
    "Cohen", "Da Silva", "Evans", "Ferrari", "Gonzalez", "Horvat", "Ito", "Jovanovic", "Kaya",
    "Larsen", "Moretti", "Nakamura", "Oliveira", "Park", "Reyes", "Suzuki", "Thompson", "Usman",
    "Van Dijk", "Walsh", "Yamamoto", "Zhang", "Abara", "Bauer", "Conti", "Dlamini", "Edwards",
    "Fontaine", "Gupta", "Hughes", "Ivanova", "Jakobsen", "Khan", "Lindqvist", "Murphy", "Osei",
)  # fmt: skip
EMAIL_DOMAINS = ("mail.example", "inbox.example", "post.example", "webmail.example", "home.example")
# (E.164 prefix, digits after it): fictional-looking numbers, distinct per customer
PHONE_PLANS = (
    ("+1555", 7),
    ("+447", 9),
    ("+49151", 8),
    ("+336", 8),
    ("+346", 8),
    ("+3519", 8),
    ("+8190", 8),
)
SUBJECTS = (
    "Where is my order #{order}?",
    "Refund for a damaged item",
    "Change my booking date",
    "Cannot sign in to my account",
    "Question about sizes",
    "Invoice for order #{order}",
    "Missed call about my claim",
    "Travel insurance",
    "Gift wrapping",
    "Wrong item delivered",
    "Cancel order #{order}",
    "Discount code does not work",
    "Delivery address change",
    "Warranty question",
    "Payment declined",
    "Return label for order #{order}",
    "Subscription renewal",
    "Product availability",
    "Complaint about the courier",
    "Loyalty points missing",
    "Order #{order} arrived late",
    "Exchange for a bigger size",
    "Question about my bill",
    "Upgrade my plan",
    "Feedback on the new app",
)
CUSTOMER_LINES = (
    "Hi, I ordered a rain jacket last Tuesday and the tracking hasn't moved since Friday.",
    "The hiking boots arrived with a torn seam on the left shoe. Can I get a refund?",
    "Hello! Can I move my Lisbon trip from 12 March to 19 March?",
    "I keep getting 'wrong password' even after resetting it.",
    "Do the merino sweaters run small? I'm usually a medium.",
    "Could you send an invoice with our VAT number for order #{order}?",
    "I missed your call this morning about my claim. When can we talk?",
    "Does my package include travel insurance?",
    "Can you gift wrap my order and add a card that says 'Happy birthday, Sam'?",
    "I received a blue backpack but I ordered the green one.",
    "My order #{order} still shows as processing after five days.",
    "The discount code SPRING20 says it has expired, but the email says it is valid until Sunday.",
    "Please send the parcel to my office instead: 14 Harbour Street, second floor.",
    "The coffee grinder stopped working after two months. Is it under warranty?",
    "My card was charged twice for the same order.",
    "Can I return the lamp without the original box?",
    "I want to cancel the automatic renewal of my subscription.",
    "When will the walnut desk be back in stock?",
    "The courier left the package in the rain and the box is soaked.",
    "My loyalty points from the last purchase never showed up.",
    "The parcel arrived a week late and the flowers were wilted.",
    "Could I exchange the trainers for a size 44?",
    "There is a charge on my bill that I don't recognise.",
    "How much would it cost to upgrade to the family plan?",
    "The new app logs me out every time I switch screens.",
    "Thanks, that solved it!",
    "Great, thank you for checking.",
    "Sure, it's order #{order}.",
    "Just sent the photo.",
    "Any update on this?",
    "That's fine, please go ahead.",
    "Is there a phone number I can call instead?",
)
AGENT_LINES = (
    "Sorry about that! Could you share your order number so I can check with the courier?",
    "Thanks. The parcel is at the regional depot and should go out for delivery tomorrow.",
    "I'm sorry to hear that. Could you send a photo of the damage?",
    "Thank you. I've issued a full refund; you'll see it in 3-5 business days.",
    "Let me look. The later departure has seats; the fare difference is 24 EUR.",
    "Done! Your new confirmation is on its way by email.",
    "Could you tell me which email address you use to sign in?",
    "They run true to size; a medium should fit you well.",
    "Of course. What's the VAT number and the company name?",
    "No problem! Would 3 pm today work for a call back?",
    "The Comfort package includes basic cover; you can upgrade to full cover for 18 EUR.",
    "Yes! Gift wrapping is free this month. I've added the card to your order.",
    "Apologies for the mix-up. I'll send the right one today with a free return label.",
    "I've checked order #{order}: it leaves our warehouse this afternoon.",
    "That code was limited to the first 500 orders, but I've applied the same discount for you.",
    "I've updated the delivery address; the courier has the new one.",
    "It is covered by the two-year warranty. I'll email you a prepaid shipping label.",
    "I can see the double charge; the second one is a pre-authorisation and will drop off in 2 days.",
    "Yes, you can return it in any sturdy box.",
    "I've switched off the automatic renewal; your plan stays active until the end of the period.",
    "The desk is expected back in stock on the 15th. Shall I reserve one for you?",
    "I'm sorry about that. I've opened a claim with the courier and sent a replacement.",
    "I've added the missing points to your account.",
    "I've refunded the delivery cost and added a voucher for your next order.",
    "Size 44 is in stock; I've set up the exchange.",
    "That charge is the annual service fee. I can split it into monthly payments if you prefer.",
    "The family plan is 9 EUR more per month; I can switch you today.",
    "Thanks for reporting it; our app team has a fix in the next update.",
    "Is there anything else I can help you with?",
    "Glad I could help. Have a great day!",
    "I'm checking with the warehouse and will get back to you within the hour.",
    "Could you confirm the postcode on the order?",
)
# ~0.1% of messages carry one of these, so a text search for "zeppelin" has few hits
RARE_CUSTOMER_LINE = "Also, did the zeppelin poster I ordered ship separately?"
RARE_AGENT_LINE = "The zeppelin poster ships separately in a tube."
PROVIDER_PREFIXES = {
    "whatsapp": "wamid.HBgM",
    "facebook": "m_",
    "instagram": "aWdfZAG1f",
    "phone": "SM",
}


def say(text: str) -> None:
    print(text, flush=True)


def ascii_slug(name: str) -> str:
    """The e-mail-safe form of a name: 'Müller' -> 'muller', "O'Brien" -> 'obrien'."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def golden_multiplier(modulus: int) -> int:
    """A multiplier near modulus / golden ratio and coprime with it: i -> i * m mod modulus is a
    permutation that sends neighbours far apart (customer names look shuffled, stay distinct)."""
    target = max(1, round(modulus * 0.6180339887))
    for distance in range(modulus + 1):
        for candidate in (target - distance, target + distance):
            if candidate >= 1 and math.gcd(candidate, modulus) == 1:
                return candidate
    return 1


def human_bytes(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    if size < 1024**3:
        return f"{size / 1024**2:.1f} MB"
    return f"{size / 1024**3:.2f} GB"


class Progress:
    """Prints done/total with rate and ETA, one line per batch."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.started = label, total, time.monotonic()

    def report(self, done: int) -> None:
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        say(
            f"  {self.label}: {done:,}/{self.total:,} ({100 * done / self.total:.0f}%) "
            f"{rate:,.0f}/s, elapsed {elapsed:.0f}s, ETA {eta:.0f}s"
        )


# --- setup and guards -----------------------------------------------------------------------------


def honour_embedded_database_choice() -> None:
    """Make the embedded server serve EMBEDDED_POSTGRES_DB even if hub.settings does not pass it on
    (hub.embedded_postgres.start takes the name; an explicit argument from settings still wins)."""
    name = os.environ.get("EMBEDDED_POSTGRES_DB")
    if not name or os.environ.get("DATABASE_URL"):
        return
    from hub import embedded_postgres

    start = embedded_postgres.start

    def start_with_database(data_dir: Path, database: str = name) -> dict[str, str]:
        return start(data_dir, database)

    embedded_postgres.start = start_with_database


def refuse(message: str) -> None:
    say(f"REFUSED: {message}")
    sys.exit(2)


def check_database_name() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        name = cursor.fetchone()[0]
    wanted = os.environ.get("EMBEDDED_POSTGRES_DB")
    if name in PROTECTED_DATABASES:
        refuse(
            f'the current database is "{name}", which holds dev or test data. Choose a database of '
            "its own: EMBEDDED_POSTGRES_DB=hub_bench_1k (embedded server) or DATABASE_URL=..."
        )
    if wanted and not os.environ.get("DATABASE_URL") and name != wanted:
        refuse(f'EMBEDDED_POSTGRES_DB is "{wanted}" but the connection reached "{name}".')
    return name


def tenant_slug(number: int) -> str:
    """The slug of the number-th bench company: "bench", "bench-02", "bench-03"..."""
    return BENCH_SLUG if number == 1 else f"{BENCH_SLUG}-{number:02d}"


def tenant_domain(number: int) -> str:
    return BENCH_DOMAIN if number == 1 else f"{BENCH_SLUG}{number:02d}.example"


def parse_tenants(text: str) -> list[int]:
    """ "40000,25000,2500x3" -> [40000, 25000, 2500, 2500, 2500]."""
    sizes = []
    for item in text.split(","):
        size, _, times = item.strip().partition("x")
        sizes.extend([int(size.replace("_", ""))] * (int(times) if times else 1))
    return sizes


def foreign_and_bench_companies() -> tuple[int, bool]:
    """(companies other than the bench ones, whether a bench company exists); (0, False) before
    the first migration."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('companies_company') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return 0, False
        cursor.execute(
            "SELECT count(*) FILTER (WHERE NOT (slug = %s OR slug ~ %s)), "
            "count(*) FILTER (WHERE slug = %s OR slug ~ %s) FROM companies_company",
            [BENCH_SLUG, f"^{BENCH_SLUG}-[0-9]+$"] * 2,
        )
        others, bench = cursor.fetchone()
    return others, bench > 0


def recreate_database(name: str) -> None:
    """Drop and create the (bench) database through the server's maintenance database."""
    import psycopg
    from django.db import connection

    connection.close()
    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        quoted = '"' + name.replace('"', '""') + '"'
        admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {quoted}")
    say(f'Dropped and recreated database "{name}".')


def check_columns_are_covered(cursor: Any, columns_by_table: dict[str, Sequence[str]]) -> None:
    """Fail early, and clearly, if the schema grew a required column this script does not fill."""
    for table, columns in columns_by_table.items():
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s AND is_nullable = 'NO' "
            "AND column_default IS NULL AND is_identity = 'NO' AND NOT (column_name = ANY(%s))",
            [table, list(columns)],
        )
        missing = [row[0] for row in cursor.fetchall()]
        if missing:
            raise SystemExit(
                f"{table} has required columns bench/build_dataset.py does not fill: "
                f"{', '.join(missing)}. Teach the script about them."
            )


# --- index and constraint handling ------------------------------------------------------------------


def schema_snapshot(cursor: Any, tables: Sequence[str]) -> dict[str, list[tuple]]:
    """Every index of the tables and every constraint on them or referencing them, as definitions."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) "
        "OR (confrelid <> 0 AND confrelid::regclass::text = ANY(%s)) ORDER BY 1, 2",
        [list(tables), list(tables)],
    )
    constraints = [tuple(row) for row in cursor.fetchall()]
    cursor.execute(
        "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = ANY(%s) ORDER BY 1, 2",
        [list(tables)],
    )
    return {"constraints": constraints, "indexes": [tuple(row) for row in cursor.fetchall()]}


def drop_for_load(cursor: Any, snapshot: dict[str, list[tuple]], tables: Sequence[str]) -> dict:
    """Drop foreign keys, unique constraints and secondary indexes; keep primary keys and checks."""
    foreign_keys = [c for c in snapshot["constraints"] if c[2] == "f"]
    uniques = [c for c in snapshot["constraints"] if c[2] in ("u", "x") and c[0] in tables]
    constraint_names = {c[1] for c in snapshot["constraints"] if c[2] in ("p", "u", "x")}
    for table, name, _, _ in foreign_keys + uniques:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    indexes, kept = [], []
    for number, (table, name, definition) in enumerate(snapshot["indexes"]):
        if name in constraint_names:
            continue
        # drop only an index whose pg_indexes definition recreates it exactly (the tables are
        # still empty, so trying costs nothing); e.g. `col IN (...)` in a predicate comes back
        # as a different expression and such an index stays in place during the load
        cursor.execute(f'ALTER INDEX "{name}" RENAME TO "bench_roundtrip_{number}"')
        cursor.execute(definition)
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [name])
        round_trips = cursor.fetchone()[0] == definition
        cursor.execute(f'DROP INDEX "{name}"')
        if round_trips:
            cursor.execute(f'DROP INDEX "bench_roundtrip_{number}"')
            indexes.append((table, name, definition))
        else:
            cursor.execute(f'ALTER INDEX "bench_roundtrip_{number}" RENAME TO "{name}"')
            kept.append(name)
    say(
        f"  dropped {len(foreign_keys)} foreign keys, {len(uniques)} unique constraints and "
        f"{len(indexes)} indexes for the load; kept {len(kept)} ({', '.join(kept) or '-'})"
    )
    return {"foreign_keys": foreign_keys, "uniques": uniques, "indexes": indexes}


def recreate_after_load(cursor: Any, dropped: dict) -> None:
    """Indexes first, then unique constraints, then foreign keys (which need those uniques)."""
    for table, name, definition in dropped["indexes"]:
        started = time.monotonic()
        cursor.execute(definition)
        say(f"  index {table}.{name}: {time.monotonic() - started:.1f}s")
    for table, name, _, definition in dropped["uniques"] + dropped["foreign_keys"]:
        started = time.monotonic()
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        say(f"  constraint {table}.{name}: {time.monotonic() - started:.1f}s")


# --- the build --------------------------------------------------------------------------------------


@functools.cache
def password_hash() -> str:
    """One PBKDF2 hash shared by all bench users (each takes ~0.4 s)."""
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


def create_people_and_inboxes(number: int = 1) -> dict[str, Any]:
    """The number-th bench company with its admin, agents and one inbox per channel."""
    from accounts.models import Role, User
    from companies.models import Company
    from inboxes.models import Channel, Inbox

    domain = tenant_domain(number)
    company = Company.objects.create(
        name="Bench Corp" if number == 1 else f"Bench Corp {number:02d}",
        slug=tenant_slug(number),
        subscription_plan=Company.Plan.ENTERPRISE,
        max_users=AGENT_COUNT + 10,
        max_channels=10,
    )
    admin = User.objects.create_user(
        f"admin@{domain}",
        None,
        first_name="Ada",
        last_name="Admin",
        role=Role.COMPANY_ADMIN,
        company=company,
    )
    agents = [
        User.objects.create_user(
            f"agent{n:02d}@{domain}",
            None,
            first_name=FIRST_NAMES[n],
            last_name=LAST_NAMES[n],
            role=Role.AGENT,
            company=company,
        )
        for n in range(1, AGENT_COUNT + 1)
    ]
    User.objects.filter(company=company).update(password=password_hash())
    inboxes = {
        channel: Inbox.objects.create(company=company, kind=channel, name=f"Bench {label}")
        for channel, label in Channel.choices
    }
    return {"company": company, "admin": admin, "agents": agents, "inboxes": inboxes}


def create_super_admin() -> Any:
    """The platform's super admin (no company), for the cross-company overview."""
    from accounts.models import User

    user = User.objects.create_superuser(
        f"super@{BENCH_DOMAIN}", None, first_name="Sam", last_name="Super"
    )
    user.password = password_hash()
    user.save(update_fields=["password"])
    return user


def create_temp_functions(cursor: Any) -> None:
    # uniform pseudo-random integer in [0, n) from (x, salt): deterministic, inlined by the planner
    cursor.execute(
        "CREATE FUNCTION pg_temp.rnd(x bigint, salt bigint, n bigint) RETURNS bigint "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
        "$$ SELECT mod(hashint8extended(x, salt) & 9223372036854775807, n) $$"
    )
    # the time of message p of n: last - (n - p) steps, jittered by under half a step, so the
    # times strictly increase and message n is exactly at last_message_at
    cursor.execute(
        "CREATE FUNCTION pg_temp.message_time("
        "last timestamptz, n int, p int, step int, k bigint, salt bigint) RETURNS timestamptz "
        "LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT last - make_interval(secs => "
        "(n - p)::bigint * step + CASE WHEN p = n THEN 0 ELSE pg_temp.rnd(p, k + salt, "
        "greatest(step / 2, 1)) END) $$"
    )


def insert_customers(cursor: Any, *, company_id: int, count: int, seed: int, now: datetime) -> int:
    cursor.execute("SELECT coalesce(max(id), 0) FROM customers_customer")
    base = cursor.fetchone()[0]
    # shuffled pools hide the arithmetic that keeps (first, initial, last) distinct
    first_names = [(name, ascii_slug(name)) for name in FIRST_NAMES]
    last_names = [(name, ascii_slug(name)) for name in LAST_NAMES]
    random.Random(seed).shuffle(first_names)
    random.Random(seed + 1).shuffle(last_names)
    started = time.monotonic()
    cursor.execute(
        """
        INSERT INTO customers_customer (id, company_id, name, phone, email, whatsapp_number,
            instagram_handle, facebook_id, is_vip, created_at, updated_at)
        SELECT %(base)s + i + 1, %(company)s,
               f.first || ' ' || CASE WHEN f.block = 0 THEN '' ELSE chr(65 + mod(f.block - 1, 26)::int)
                   || '. ' END || f.last
                   || CASE WHEN f.block > 26 THEN ' ' || ((f.block - 1) / 26 + 1) ELSE '' END,
               ph.phone,
               f.first_slug || '.' || f.last_slug || '.' || (i + 1) || '@'
                   || (%(domains)s::text[])[1 + pg_temp.rnd(i, %(s)s + 1, %(n_domains)s)],
               CASE WHEN i = 0 OR pg_temp.rnd(i, %(s)s + 2, 100) < 50 THEN ph.phone ELSE '' END,
               CASE WHEN i = 0 OR pg_temp.rnd(i, %(s)s + 3, 100) < 35
                    THEN f.first_slug || '_' || f.last_slug || (i + 1) ELSE '' END,
               CASE WHEN i = 0 OR pg_temp.rnd(i, %(s)s + 4, 100) < 35
                    THEN (100000000000000 + i::bigint * 7919)::text ELSE '' END,
               pg_temp.rnd(i, %(s)s + 5, 50) = 0,
               f.created, f.created
        FROM generate_series(0, %(count)s - 1) AS i
        CROSS JOIN LATERAL (
            SELECT mod(i::bigint * %(scramble)s, %(count)s) AS j) AS s
        CROSS JOIN LATERAL (
            SELECT (%(first)s::text[])[1 + mod(s.j, %(n_first)s)] AS first,
                   (%(first_slug)s::text[])[1 + mod(s.j, %(n_first)s)] AS first_slug,
                   (%(last)s::text[])[1 + mod(s.j / %(n_first)s, %(n_last)s)] AS last,
                   (%(last_slug)s::text[])[1 + mod(s.j / %(n_first)s, %(n_last)s)] AS last_slug,
                   s.j / (%(n_first)s * %(n_last)s) AS block,
                   %(now)s::timestamptz - interval '400 days'
                       - make_interval(secs => pg_temp.rnd(i, %(s)s + 6, 60 * 86400)) AS created
        ) AS f
        CROSS JOIN LATERAL (
            SELECT (%(phone_prefix)s::text[])[1 + mod(i, %(n_plans)s)]
                || lpad(mod((i / %(n_plans)s)::bigint * 61803399 + 27182818,
                            (10::bigint ^ (%(phone_digits)s::int[])[1 + mod(i, %(n_plans)s)])::bigint
                        )::text,
                        (%(phone_digits)s::int[])[1 + mod(i, %(n_plans)s)], '0') AS phone
        ) AS ph
        """,
        {
            "base": base,
            "company": company_id,
            "count": count,
            "s": seed * 1000,
            "now": now,
            "scramble": golden_multiplier(count),
            "first": [name for name, _ in first_names],
            "first_slug": [slug for _, slug in first_names],
            "n_first": len(first_names),
            "last": [name for name, _ in last_names],
            "last_slug": [slug for _, slug in last_names],
            "n_last": len(last_names),
            "domains": list(EMAIL_DOMAINS),
            "n_domains": len(EMAIL_DOMAINS),
            "phone_prefix": [prefix for prefix, _ in PHONE_PLANS],
            "phone_digits": [digits for _, digits in PHONE_PLANS],
            "n_plans": len(PHONE_PLANS),
        },
    )
    say(f"  customers: {count:,} in {time.monotonic() - started:.1f}s")
    return base


def plan_conversations(
    cursor: Any,
    *,
    count: int,
    messages: int,
    company_id: int,
    staff_ids: list[int],
    agent01_id: int,
    inbox_ids: dict[str, int],
    seed: int,
    now: datetime,
) -> dict[str, int]:
    """Fill the temp table bench_conv with every conversation's attributes, ids in created order."""
    channels = list(inbox_ids)
    # which customers each channel can reach: the ones with that identity
    cursor.execute(
        """
        CREATE TEMP TABLE bench_reach AS
        SELECT channel, row_number() OVER (PARTITION BY channel ORDER BY id) - 1 AS rn,
               id AS customer_id
        FROM (
            SELECT 'email' AS channel, id FROM customers_customer
                WHERE company_id = %(c)s AND email <> ''
            UNION ALL SELECT 'phone', id FROM customers_customer
                WHERE company_id = %(c)s AND phone <> ''
            UNION ALL SELECT 'whatsapp', id FROM customers_customer
                WHERE company_id = %(c)s AND whatsapp_number <> ''
            UNION ALL SELECT 'instagram', id FROM customers_customer
                WHERE company_id = %(c)s AND instagram_handle <> ''
            UNION ALL SELECT 'facebook', id FROM customers_customer
                WHERE company_id = %(c)s AND facebook_id <> ''
        ) AS reach
        """,
        {"c": company_id},
    )
    cursor.execute("CREATE INDEX ON bench_reach (channel, rn)")
    cursor.execute("ANALYZE bench_reach")
    cursor.execute("SELECT channel, count(*) FROM bench_reach GROUP BY channel")
    reach = dict(cursor.fetchall())
    s = seed * 1000 + 100
    cursor.execute(
        """
        CREATE TEMP TABLE bench_plan AS
        SELECT g.k, ch.channel, r.customer_id,
               CASE WHEN ch.channel = 'phone' AND pg_temp.rnd(g.k, %(s)s + 1, 10) = 0 THEN NULL
                    ELSE ch.inbox_id END AS inbox_id,
               st.status,
               CASE WHEN st.status = 'new' THEN NULL
                    WHEN st.status = 'in-progress' AND pg_temp.rnd(g.k, %(s)s + 2, 3) = 0 THEN NULL
                    WHEN st.status IN ('resolved', 'closed')
                         AND pg_temp.rnd(g.k, %(s)s + 2, 4) = 0 THEN NULL
                    ELSE (%(staff)s::bigint[])[1 + pg_temp.rnd(g.k, %(s)s + 3, %(n_staff)s)]
               END AS assigned_user_id,
               replace((%(subjects)s::text[])[1 + pg_temp.rnd(g.k, %(s)s + 4, %(n_subjects)s)],
                       '{order}', o.order_number) AS subject,
               o.order_number,
               %(now)s::timestamptz
                   - make_interval(secs => pg_temp.rnd(g.k, %(s)s + 5, 365 * 86400))
                   AS last_message_at,
               %(messages)s AS n,
               least(%(messages)s, CASE
                   WHEN st.status = 'new' THEN %(messages)s
                   WHEN st.status = 'in-progress' THEN CASE
                       WHEN pg_temp.rnd(g.k, %(s)s + 6, 10) < 4 THEN 0
                       ELSE 1 + pg_temp.rnd(g.k, %(s)s + 7, 3) END
                   ELSE pg_temp.rnd(g.k, %(s)s + 6, 2) END)::int AS tail,
               (CASE WHEN ch.channel = 'email' THEN 600 + pg_temp.rnd(g.k, %(s)s + 8, 14400)
                     ELSE 30 + pg_temp.rnd(g.k, %(s)s + 8, 1800) END)::int AS step
        FROM generate_series(1, %(count)s) AS g(k)
        CROSS JOIN LATERAL (SELECT 1 + pg_temp.rnd(g.k, %(s)s, %(n_channels)s) AS ix) AS pick
        CROSS JOIN LATERAL (
            SELECT (%(channels)s::text[])[pick.ix] AS channel,
                   (%(inboxes)s::bigint[])[pick.ix] AS inbox_id,
                   (%(reach)s::bigint[])[pick.ix] AS reach) AS ch
        CROSS JOIN LATERAL (
            SELECT CASE WHEN r < 10 THEN 'new' WHEN r < 40 THEN 'in-progress'
                        WHEN r < 80 THEN 'resolved' ELSE 'closed' END AS status
            FROM (SELECT pg_temp.rnd(g.k, %(s)s + 9, 100) AS r) AS roll) AS st
        CROSS JOIN LATERAL (
            SELECT (40000 + pg_temp.rnd(g.k, %(s)s + 10, 60000))::text AS order_number) AS o
        JOIN bench_reach AS r
          ON r.channel = ch.channel AND r.rn = pg_temp.rnd(g.k, %(s)s + 11, ch.reach)
        """,
        {
            "s": s,
            "count": count,
            "messages": messages,
            "now": now,
            "staff": staff_ids,
            "n_staff": len(staff_ids),
            "subjects": list(SUBJECTS),
            "n_subjects": len(SUBJECTS),
            "channels": channels,
            "inboxes": [inbox_ids[c] for c in channels],
            "reach": [reach[c] for c in channels],
            "n_channels": len(channels),
        },
    )
    # the two big conversations: the newest in-progress ones, given to agent01 (a tiny dataset
    # may have fewer in-progress conversations; then the newest ones are made in-progress)
    cursor.execute(
        "SELECT k FROM bench_plan ORDER BY (status = 'in-progress') DESC, last_message_at DESC, "
        "k DESC LIMIT %s",
        [len(SPECIAL_SIZES)],
    )
    special_ks = [row[0] for row in cursor.fetchall()]
    for k, size in zip(special_ks, SPECIAL_SIZES, strict=True):
        cursor.execute(
            # spread over at most ~60 days, so a long thread does not reach back for years
            "UPDATE bench_plan SET status = 'in-progress', assigned_user_id = %s, n = %s, "
            "tail = 3, step = least(step, 60 * 86400 / %s) WHERE k = %s",
            [agent01_id, size, size, k],
        )
    cursor.execute("SELECT coalesce(max(id), 0) FROM conversations_conversation")
    base = cursor.fetchone()[0]
    cursor.execute(
        """
        CREATE TEMP TABLE bench_conv AS
        SELECT %(base)s + row_number() OVER (ORDER BY created_at, k) AS id, *
        FROM (SELECT *, pg_temp.message_time(last_message_at, n, 1, step, k, %(s)s + 20)
                        AS created_at
              FROM bench_plan) AS planned
        """,
        {"base": base, "s": s},
    )
    cursor.execute("CREATE UNIQUE INDEX ON bench_conv (id)")
    cursor.execute("CREATE UNIQUE INDEX ON bench_conv (k)")
    cursor.execute("ANALYZE bench_conv")
    cursor.execute("DROP TABLE bench_plan, bench_reach")
    cursor.execute("SELECT k, id FROM bench_conv WHERE k = ANY(%s)", [special_ks])
    ids = dict(cursor.fetchall())
    return {
        "base": base,
        "salt": s + 20,
        **{
            f"conversation_{size}_id": ids[k]
            for k, size in zip(special_ks, SPECIAL_SIZES, strict=True)
        },
    }


def insert_conversations(cursor: Any, *, company_id: int, base: int, count: int) -> None:
    progress = Progress("conversations", count)
    for low in range(0, count, CONVERSATION_BATCH):
        high = min(low + CONVERSATION_BATCH, count)
        cursor.execute(
            """
            INSERT INTO conversations_conversation (id, company_id, customer_id, inbox_id, channel,
                status, assigned_user_id, subject, last_message_at, unread_count, created_at,
                updated_at)
            SELECT id, %(company)s, customer_id, inbox_id, channel, status, assigned_user_id,
                   subject, last_message_at,
                   CASE WHEN status IN ('new', 'in-progress') THEN tail ELSE 0 END,
                   created_at, last_message_at
            FROM bench_conv WHERE id > %(low)s AND id <= %(high)s ORDER BY id
            """,
            {"company": company_id, "low": base + low, "high": base + high},
        )
        progress.report(high)


def plan_messages(cursor: Any, *, salt: int) -> tuple[int, int]:
    """Fill the temp table bench_msg: (id, conversation, position, time), ids in time order, so
    like a real inbox a conversation's messages are spread over the table."""
    cursor.execute("SELECT coalesce(max(id), 0) FROM conversations_message")
    base = cursor.fetchone()[0]
    started = time.monotonic()
    cursor.execute("SET LOCAL work_mem = '2GB'")
    cursor.execute(
        """
        CREATE TEMP TABLE bench_msg AS
        SELECT %(base)s + row_number() OVER (ORDER BY ts, conv_id, p) AS id, conv_id, p, ts
        FROM (SELECT c.id AS conv_id, p,
                     pg_temp.message_time(c.last_message_at, c.n, p, c.step, c.k, %(salt)s) AS ts
              FROM bench_conv AS c CROSS JOIN LATERAL generate_series(1, c.n) AS p) AS m
        """,
        {"base": base, "salt": salt},
    )
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute("SELECT count(*) FROM bench_msg")
    total = cursor.fetchone()[0]
    cursor.execute("CREATE UNIQUE INDEX ON bench_msg (id)")
    cursor.execute("ANALYZE bench_msg")
    say(f"  planned {total:,} message times in {time.monotonic() - started:.1f}s")
    return base, total


def insert_messages(
    cursor: Any, *, company_id: int, admin_id: int, base: int, total: int, seed: int
) -> None:
    s = seed * 1000 + 300
    progress = Progress("messages", total)
    params = {
        "company": company_id,
        "admin": admin_id,
        "s": s,
        "customer_lines": list(CUSTOMER_LINES),
        "n_customer": len(CUSTOMER_LINES),
        "agent_lines": list(AGENT_LINES),
        "n_agent": len(AGENT_LINES),
        "rare_customer": RARE_CUSTOMER_LINE,
        "rare_agent": RARE_AGENT_LINE,
        "wa": PROVIDER_PREFIXES["whatsapp"],
        "fb": PROVIDER_PREFIXES["facebook"],
        "ig": PROVIDER_PREFIXES["instagram"],
        "sms": PROVIDER_PREFIXES["phone"],
    }
    for low in range(0, total, MESSAGE_BATCH):
        high = min(low + MESSAGE_BATCH, total)
        cursor.execute(
            """
            INSERT INTO conversations_message (id, company_id, conversation_id, inbox_id, content,
                sender_type, sender_user_id, timestamp, is_read, provider_message_id,
                delivery_status, delivery_attempts, last_error, last_error_code, kind, payload,
                reply_to_provider_id, created_at)
            SELECT m.id, %(company)s, m.conv_id, c.inbox_id,
                   replace(CASE WHEN w.is_customer THEN
                       (%(customer_lines)s::text[])[1 + pg_temp.rnd(m.id, %(s)s, %(n_customer)s)]
                       || CASE WHEN pg_temp.rnd(m.id, %(s)s + 1, 3) = 0 THEN ' ' ||
                          (%(customer_lines)s::text[])[1 + pg_temp.rnd(m.id, %(s)s + 2,
                                                                       %(n_customer)s)]
                          ELSE '' END
                       || CASE WHEN pg_temp.rnd(m.id, %(s)s + 3, 1000) = 0
                          THEN ' ' || %(rare_customer)s ELSE '' END
                   ELSE
                       (%(agent_lines)s::text[])[1 + pg_temp.rnd(m.id, %(s)s, %(n_agent)s)]
                       || CASE WHEN pg_temp.rnd(m.id, %(s)s + 1, 3) = 0 THEN ' ' ||
                          (%(agent_lines)s::text[])[1 + pg_temp.rnd(m.id, %(s)s + 2, %(n_agent)s)]
                          ELSE '' END
                       || CASE WHEN pg_temp.rnd(m.id, %(s)s + 3, 1000) = 0
                          THEN ' ' || %(rare_agent)s ELSE '' END
                   END, '{order}', c.order_number),
                   CASE WHEN w.is_customer THEN 'customer' ELSE 'agent' END,
                   CASE WHEN w.is_customer THEN NULL
                        ELSE coalesce(c.assigned_user_id, %(admin)s) END,
                   m.ts,
                   NOT (c.status IN ('new', 'in-progress') AND m.p > c.n - c.tail),
                   CASE WHEN c.inbox_id IS NULL THEN ''
                        WHEN c.channel = 'whatsapp' THEN %(wa)s || lpad(m.id::text, 16, '0')
                        WHEN c.channel = 'facebook' THEN %(fb)s || md5(m.id::text)
                        WHEN c.channel = 'instagram' THEN %(ig)s || to_hex(m.id * 7919)
                        WHEN c.channel = 'email' THEN '<' || to_hex(m.id) || '.' || c.k
                             || '@mail.bench.example>'
                        ELSE %(sms)s || lpad(to_hex(m.id), 32, '0') END,
                   CASE WHEN w.is_customer OR pg_temp.rnd(m.id, %(s)s + 4, 5) = 0
                        THEN 'delivered' ELSE 'read' END,
                   CASE WHEN w.is_customer THEN 0 ELSE 1 END,
                   '', '', 'text', '{}'::jsonb, '',
                   m.ts
            FROM bench_msg AS m
            JOIN bench_conv AS c ON c.id = m.conv_id
            CROSS JOIN LATERAL (
                -- the trailing `tail` messages are the customer's; before them, customer and
                -- agent alternate, ending with the agent
                SELECT m.p > c.n - c.tail OR mod(c.n - c.tail - m.p, 2) = 1 AS is_customer) AS w
            WHERE m.id > %(low)s AND m.id <= %(high)s
            ORDER BY m.id
            """,
            {**params, "low": base + low, "high": base + high},
        )
        progress.report(high)


def reset_sequences(cursor: Any, tables: Sequence[str]) -> None:
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 1), (SELECT count(*) > 0 FROM {table}))"
        )


def verify(cursor: Any, company_id: int) -> dict[str, int]:
    """The invariants a benchmark relies on; any failure aborts the build (and rolls it back)."""
    checks = {
        "conversations whose unread_count differs from their unread customer messages": """
            SELECT count(*) FROM conversations_conversation AS c
            LEFT JOIN (SELECT conversation_id, count(*) AS unread FROM conversations_message
                       WHERE company_id = %(c)s AND sender_type = 'customer' AND NOT is_read
                       GROUP BY conversation_id) AS u ON u.conversation_id = c.id
            WHERE c.company_id = %(c)s AND c.unread_count <> coalesce(u.unread, 0)""",
        "conversations whose last message is not at last_message_at": """
            SELECT count(*) FROM conversations_conversation AS c
            LEFT JOIN (SELECT conversation_id, max(timestamp) AS last FROM conversations_message
                       WHERE company_id = %(c)s GROUP BY conversation_id) AS m
                   ON m.conversation_id = c.id
            WHERE c.company_id = %(c)s AND m.last IS DISTINCT FROM c.last_message_at""",
        "agent messages of an assigned conversation not sent by the assignee": """
            SELECT count(*) FROM conversations_message AS m
            JOIN conversations_conversation AS c ON c.id = m.conversation_id
            WHERE m.company_id = %(c)s AND m.sender_type = 'agent'
              AND c.assigned_user_id IS NOT NULL AND m.sender_user_id <> c.assigned_user_id""",
    }
    for label, query in checks.items():
        started = time.monotonic()
        cursor.execute(query, {"c": company_id})
        bad = cursor.fetchone()[0]
        say(f"  check: {label}: {bad} ({time.monotonic() - started:.1f}s)")
        if bad:
            raise SystemExit(f"Check failed: {bad} {label}. Nothing was committed.")
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    say("  check: SET CONSTRAINTS ALL IMMEDIATE passed")
    cursor.execute(
        """
        SELECT (SELECT count(*) FROM customers_customer WHERE company_id = %(c)s),
               (SELECT count(*) FROM customers_customer WHERE company_id = %(c)s AND is_vip),
               (SELECT count(*) FROM conversations_conversation WHERE company_id = %(c)s),
               (SELECT count(*) FROM conversations_conversation
                WHERE company_id = %(c)s AND assigned_user_id IS NULL),
               (SELECT count(*) FROM conversations_message WHERE company_id = %(c)s),
               (SELECT count(*) FROM conversations_message
                WHERE company_id = %(c)s AND strpos(content, 'zeppelin') > 0)
        """,
        {"c": company_id},
    )
    names = ("customers", "vip_customers", "conversations", "unassigned", "messages", "zeppelin")
    counts = dict(zip(names, cursor.fetchone(), strict=True))
    cursor.execute(
        "SELECT status, count(*) FROM conversations_conversation WHERE company_id = %s "
        "GROUP BY status ORDER BY status",
        [company_id],
    )
    counts.update({f"status_{status}": n for status, n in cursor.fetchall()})
    cursor.execute(
        "SELECT channel, count(*) FROM conversations_conversation WHERE company_id = %s "
        "GROUP BY channel ORDER BY channel",
        [company_id],
    )
    counts.update({f"channel_{channel}": n for channel, n in cursor.fetchall()})
    return counts


def sizes(cursor: Any, tables: Sequence[str]) -> list[dict[str, Any]]:
    cursor.execute(
        """
        SELECT c.relname::text, c.reltuples::bigint, pg_relation_size(c.oid),
               pg_indexes_size(c.oid), pg_total_relation_size(c.oid)
        FROM pg_class AS c WHERE c.relname = ANY(%s) ORDER BY pg_total_relation_size(c.oid) DESC
        """,
        [list(tables)],
    )
    rows = [
        {"table": t, "rows": r, "heap": h, "indexes": i, "total": tot}
        for t, r, h, i, tot in cursor.fetchall()
    ]
    for row in rows:
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index "
            "WHERE indrelid = %s::regclass ORDER BY 2 DESC",
            [row["table"]],
        )
        row["index_sizes"] = dict(cursor.fetchall())
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument(
        "--tenants",
        help='several companies instead of one: their conversation counts, e.g. "40000,2500x8"',
    )
    parser.add_argument("--messages-per-conversation", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1, help="changes every generated value")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="drop and recreate this database first if it already holds the bench companies",
    )
    args = parser.parse_args(argv)
    try:
        tenant_sizes = parse_tenants(args.tenants) if args.tenants else [args.conversations]
    except ValueError:
        parser.error(f'--tenants takes sizes like "40000,25000,2500x8", not "{args.tenants}"')
    if min(tenant_sizes) < len(SPECIAL_SIZES) or args.messages_per_conversation < 1:
        parser.error("need at least 2 conversations per company and 1 message per conversation")
    if len(tenant_sizes) > 99:
        parser.error("at most 99 companies")

    started = time.monotonic()
    honour_embedded_database_choice()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from conversations.models import Conversation, Message
    from customers.models import Customer
    from inboxes.models import Inbox

    database = check_database_name()
    others, built = foreign_and_bench_companies()
    if others:
        refuse(f'database "{database}" holds {others} other companies; it is not a bench database.')
    if built and not args.rebuild:
        refuse(
            f'database "{database}" already holds the bench company. Run with --rebuild to drop '
            "and recreate this database, or choose another EMBEDDED_POSTGRES_DB."
        )
    if built:
        recreate_database(database)
    say(f'Building the bench dataset in database "{database}"')
    call_command("migrate", verbosity=0, interactive=False)
    others, built = foreign_and_bench_companies()
    if others or built:
        refuse(f'database "{database}" changed under us; it now holds companies.')

    big_tables = [Customer._meta.db_table, Conversation._meta.db_table, Message._meta.db_table]
    now = timezone.now().replace(microsecond=0)
    with connection.cursor() as cursor:
        # session settings for this build only (temp_buffers must precede any temp table use)
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET temp_buffers = '1GB'")
    tenants = []
    with transaction.atomic(), connection.cursor() as cursor:
        check_columns_are_covered(
            cursor,
            {
                Customer._meta.db_table: [f.column for f in Customer._meta.concrete_fields],
                Conversation._meta.db_table: [f.column for f in Conversation._meta.concrete_fields],
                Message._meta.db_table: [f.column for f in Message._meta.concrete_fields],
            },
        )
        super_admin = create_super_admin()
        for number, size in enumerate(tenant_sizes, start=1):
            people = create_people_and_inboxes(number)
            tenants.append({**people, "size": size, "seed": args.seed + number - 1})
            company, agents = people["company"], people["agents"]
            say(
                f"  company {company.slug} (id {company.pk}), 1 admin, {len(agents)} agents, "
                f"5 inboxes, {size:,} conversations"
            )
        # fire the foreign-key checks of those rows now: ALTER TABLE refuses pending trigger events
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        create_temp_functions(cursor)
        before = schema_snapshot(cursor, big_tables)
        dropped = drop_for_load(cursor, before, big_tables)

        for tenant in tenants:
            company, admin, agents = tenant["company"], tenant["admin"], tenant["agents"]
            if len(tenants) > 1:
                say(f"Company {company.slug}: {tenant['size']:,} conversations")
            insert_customers(
                cursor,
                company_id=company.pk,
                count=math.ceil(tenant["size"] / 4),
                seed=tenant["seed"],
                now=now,
            )
            tenant["plan"] = plan = plan_conversations(
                cursor,
                count=tenant["size"],
                messages=args.messages_per_conversation,
                company_id=company.pk,
                staff_ids=[admin.pk, *(agent.pk for agent in agents)],
                agent01_id=agents[0].pk,
                inbox_ids={kind: inbox.pk for kind, inbox in tenant["inboxes"].items()},
                seed=tenant["seed"],
                now=now,
            )
            insert_conversations(
                cursor, company_id=company.pk, base=plan["base"], count=tenant["size"]
            )
            message_base, message_total = plan_messages(cursor, salt=plan["salt"])
            insert_messages(
                cursor,
                company_id=company.pk,
                admin_id=admin.pk,
                base=message_base,
                total=message_total,
                seed=tenant["seed"],
            )
            cursor.execute("DROP TABLE bench_msg, bench_conv")
        load_done = time.monotonic()
        say(f"Loaded in {load_done - started:.0f}s; recreating indexes and constraints")
        recreate_after_load(cursor, dropped)
        after = schema_snapshot(cursor, big_tables)
        if after != before:
            raise SystemExit(
                "Indexes or constraints differ from before the load; nothing was committed.\n"
                f"before: {before}\nafter: {after}"
            )
        say(
            f"  {len(after['indexes'])} indexes and {len(after['constraints'])} constraints "
            f"match pg_indexes/pg_constraint from before the load "
            f"({time.monotonic() - load_done:.0f}s)"
        )
        reset_sequences(cursor, big_tables)
        for tenant in tenants:
            if len(tenants) > 1:
                say(f"Company {tenant['company'].slug}:")
            tenant["counts"] = {
                "users": len(tenant["agents"]) + 1,
                "inboxes": len(tenant["inboxes"]),
                **verify(cursor, tenant["company"].pk),
            }
    say("Committed; VACUUM ANALYZE")
    vacuum_started = time.monotonic()
    with connection.cursor() as cursor:
        for table in (*big_tables, User._meta.db_table, Inbox._meta.db_table):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        say(f"  VACUUM ANALYZE: {time.monotonic() - vacuum_started:.0f}s")
        table_sizes = sizes(cursor, big_tables)
    elapsed = time.monotonic() - started

    described = [
        {
            "company_id": tenant["company"].pk,
            "company_slug": tenant["company"].slug,
            "admin_user_id": tenant["admin"].pk,
            "admin_email": tenant["admin"].email,
            "agent01_user_id": tenant["agents"][0].pk,
            "agent01_email": tenant["agents"][0].email,
            **{
                key: value
                for key, value in tenant["plan"].items()
                if key.startswith("conversation_")
            },
            "counts": tenant["counts"],
        }
        for tenant in tenants
    ]
    totals: dict[str, int] = {}
    for tenant in described:
        for key, value in tenant["counts"].items():
            totals[key] = totals.get(key, 0) + value
    dataset = {
        "database": database,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 1),
        "arguments": {
            "conversations": args.conversations,
            "tenants": tenant_sizes,
            "messages_per_conversation": args.messages_per_conversation,
            "seed": args.seed,
        },
        # the first company's ids at the top, as single-company datasets always had them
        **{key: value for key, value in described[0].items() if key != "counts"},
        "password": PASSWORD,
        "super_admin_user_id": super_admin.pk,
        "super_admin_email": super_admin.email,
        "counts": totals,
        "tenants": described,
        "sizes": {row["table"]: row["total"] for row in table_sizes},
    }
    path = Path(__file__).resolve().parent / f".dataset-{database}.json"
    path.write_text(json.dumps(dataset, indent=2) + "\n")

    say("")
    say(f'Bench dataset in "{database}", built in {elapsed:.0f}s')
    if len(described) > 1:
        say(f"  {len(described)} companies (bench ... {described[-1]['company_slug']})")
        for tenant in described:
            say(
                f"    {tenant['company_slug']:<10} id {tenant['company_id']:>3} "
                f"{tenant['counts']['conversations']:>10,} conversations "
                f"{tenant['counts']['messages']:>12,} messages"
            )
    for key, value in dataset["counts"].items():
        say(f"  {key:<24} {value:>12,}")
    say("  table                       est. rows        heap     indexes       total")
    for row in table_sizes:
        say(
            f"  {row['table']:<28} {row['rows']:>10,} {human_bytes(row['heap']):>11} "
            f"{human_bytes(row['indexes']):>11} {human_bytes(row['total']):>11}"
        )
        for index, size in row["index_sizes"].items():
            say(f"      {index:<44} {human_bytes(size):>11}")
    first = described[0]
    say(
        f"company_id={first['company_id']} admin_user_id={first['admin_user_id']} "
        f"agent01_user_id={first['agent01_user_id']}"
    )
    for size in SPECIAL_SIZES:
        say(f"conversation_{size}_id={first[f'conversation_{size}_id']}")
    say(f"Wrote {path}")


if __name__ == "__main__":
    main()
