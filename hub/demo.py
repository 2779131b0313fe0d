"""Demo data: two companies with staff, customers and realistic conversations on every channel.

Used by `manage.py seed_demo` and by `make run` on an empty database. Idempotent: a company that is
already there (by slug) is left as it is.
"""

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from companies.models import Company
from conversations.models import Conversation, Message
from customers.models import Customer
from customers.services import add_contact_identities
from inboxes.channels import ChannelAdapter, all_adapters
from inboxes.models import Channel, Inbox

DEMO_PASSWORD = "demo-pass-2026"
SUPER_ADMIN_EMAIL = "super@hub.example"
CUSTOMERS_PER_COMPANY = 30
CONVERSATIONS_PER_COMPANY = 60


@dataclass(frozen=True)
class DemoCompany:
    name: str
    slug: str
    plan: str
    max_users: int
    max_channels: int
    domain: str
    admin: tuple[str, str]
    agents: tuple[tuple[str, str], ...]


DEMO_COMPANIES = (
    DemoCompany(
        name="Acme Outfitters",
        slug="acme",
        plan=Company.Plan.PRO,
        max_users=15,
        max_channels=8,
        domain="acme.example",
        admin=("Alice", "Admin"),
        agents=(("Ana", "Silva"), ("Ben", "Carter"), ("Chloe", "Nguyen")),
    ),
    DemoCompany(
        name="Globex Travel",
        slug="globex",
        plan=Company.Plan.ENTERPRISE,
        max_users=50,
        max_channels=20,
        domain="globex.example",
        admin=("Gary", "Admin"),
        agents=(("Hana", "Kim"), ("Ivan", "Petrov"), ("Jade", "Moreau")),
    ),
)

CUSTOMER_NAMES = (
    "Maria Garcia",
    "James Smith",
    "Aiko Tanaka",
    "Liam O'Brien",
    "Fatima Zahra",
    "Noah Müller",
    "Sofia Rossi",
    "Lucas Martin",
    "Amara Okafor",
    "Ethan Brown",
    "Mei Chen",
    "Oliver Jones",
    "Isabella Costa",
    "Mateo Fernández",
    "Zoe Williams",
    "Arjun Patel",
    "Emma Johansson",
    "Kenji Watanabe",
    "Chiara Bianchi",
    "Samuel Adeyemi",
    "Olivia Taylor",
    "Yusuf Demir",
    "Hannah Schmidt",
    "Diego Ramírez",
    "Leila Haddad",
    "Victor Dubois",
    "Grace Lee",
    "Tomás Novak",
    "Nia Mensah",
    "Ravi Sharma",
)

# Threads: (sender, text) pairs; "c" is the customer, "a" the agent.
THREADS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Where is my order?",
        (
            (
                "c",
                "Hi, I ordered a rain jacket last Tuesday and the tracking hasn't moved since Friday.",
            ),
            (
                "a",
                "Sorry about that! Could you share your order number so I can check with the courier?",
            ),
            ("c", "Sure, it's #48213."),
            (
                "a",
                "Thanks. The parcel is at the regional depot and should go out for delivery tomorrow.",
            ),
            ("c", "Great, thank you for checking."),
        ),
    ),
    (
        "Refund for a damaged item",
        (
            (
                "c",
                "The hiking boots arrived with a torn seam on the left shoe. Can I get a refund?",
            ),
            ("a", "I'm sorry to hear that. Could you send a photo of the seam?"),
            ("c", "Just sent it. The tear is about 2 cm long."),
            ("a", "Thank you. I've issued a full refund; you'll see it in 3-5 business days."),
        ),
    ),
    (
        "Change my booking date",
        (
            ("c", "Hello! Can I move my Lisbon trip from 12 March to 19 March?"),
            ("a", "Let me look. The 19 March departure has seats; the fare difference is 24 EUR."),
            ("c", "That's fine, please go ahead."),
            ("a", "Done! Your new confirmation is on its way by email."),
            ("c", "Received, thanks a lot."),
        ),
    ),
    (
        "Cannot sign in to my account",
        (
            ("c", "I keep getting 'wrong password' even after resetting it."),
            ("a", "Could you tell me which email address you use to sign in?"),
            ("c", "The one I'm writing from."),
        ),
    ),
    (
        "Question about sizes",
        (
            ("c", "Do the merino sweaters run small? I'm usually a medium."),
            ("a", "They run true to size; a medium should fit you well."),
            ("c", "Perfect, ordering now."),
        ),
    ),
    (
        "Invoice for my company",
        (
            ("c", "Could you send an invoice with our VAT number for order #47190?"),
            ("a", "Of course. What's the VAT number and the company name?"),
            ("c", "Nordlicht GmbH, DE123456789."),
        ),
    ),
    (
        "Missed call about my claim",
        (
            ("c", "I missed your call this morning about claim 5521. When can we talk?"),
            ("a", "No problem! Would 3 pm today work for a call back?"),
            ("c", "3 pm works."),
        ),
    ),
    (
        "Travel insurance",
        (
            ("c", "Does my package include travel insurance?"),
            (
                "a",
                "The Comfort package includes basic cover; you can upgrade to full cover for 18 EUR.",
            ),
            ("c", "What does full cover add?"),
        ),
    ),
    (
        "Gift wrapping",
        (
            ("c", "Can you gift wrap my order and add a card that says 'Happy birthday, Sam'?"),
            ("a", "Yes! Gift wrapping is free this month. I've added the card to your order."),
            ("c", "You're the best, thanks!"),
        ),
    ),
    (
        "Wrong item delivered",
        (
            ("c", "I received a blue backpack but I ordered the green one."),
            (
                "a",
                "Apologies for the mix-up. I'll send the green one today with a free return label.",
            ),
            ("c", "Thanks, how do I send the blue one back?"),
            ("a", "Just print the label in your email and drop it at any post office."),
        ),
    ),
)


def _customer_fields(index: int, name: str, rng: random.Random) -> dict[str, object]:
    handle = name.lower().replace(" ", ".").replace("'", "")
    phone = f"+1555{index:03d}{rng.randint(1000, 9999)}"
    return {
        "name": name,
        "email": f"{handle.encode('ascii', 'ignore').decode()}@mail.example",
        "phone": phone,
        "whatsapp_number": phone if index % 2 == 0 else "",
        "instagram_handle": f"{handle.split('.')[0].encode('ascii', 'ignore').decode()}_{index}"
        if index % 3 == 0
        else "",
        "facebook_id": str(100000000 + index * 7919) if index % 4 == 0 else "",
        "is_vip": index % 7 == 0,
    }


def demo_credentials(company: Company, adapter: ChannelAdapter) -> dict[str, str]:
    """Made-up credentials of the shape each channel's fields ask for: ids are digits (unique per
    company), secrets are words. `make run` points the WhatsApp inbox at the local Graph server."""
    values = {}
    for n, field in enumerate(adapter.credential_fields, start=1):
        if field.name.endswith("_id"):
            values[field.name] = (
                f"{company.pk}{n:02d}{zlib.crc32(adapter.kind.encode()) % 10**8:08d}"
            )
        elif field.name.endswith("port"):
            values[field.name] = "587"
        else:
            values[field.name] = f"demo-{field.name.replace('_', '-')}-{company.slug}"
    return values


def _seed_company(spec: DemoCompany, progress: Callable[[str], None]) -> Company:
    rng = random.Random(spec.slug)
    company = Company.objects.create(
        name=spec.name,
        slug=spec.slug,
        subscription_plan=spec.plan,
        max_users=spec.max_users,
        max_channels=spec.max_channels,
    )
    admin = User.objects.create_user(
        f"admin@{spec.domain}",
        DEMO_PASSWORD,
        first_name=spec.admin[0],
        last_name=spec.admin[1],
        role=Role.COMPANY_ADMIN,
        company=company,
    )
    agents = [
        User.objects.create_user(
            f"{first.lower()}@{spec.domain}",
            DEMO_PASSWORD,
            first_name=first,
            last_name=last,
            role=Role.AGENT,
            company=company,
        )
        for first, last in spec.agents
    ]
    inboxes = {
        adapter.kind: Inbox.objects.create(
            company=company,
            kind=adapter.kind,
            name=f"{spec.name.split()[0]} {adapter.label}",
            credentials=demo_credentials(company, adapter),
        )
        for adapter in all_adapters()
    }
    customers = Customer.objects.bulk_create(
        Customer(company=company, **_customer_fields(i, name, rng))
        for i, name in enumerate(CUSTOMER_NAMES)
    )
    add_contact_identities(customers)
    progress(f"  {spec.name}: {len(agents) + 1} staff, {len(customers)} customers")

    now = timezone.now()
    channels = Channel.values
    statuses = Conversation.Status.values
    conversations: list[Conversation] = []
    threads: list[tuple[Conversation, tuple[tuple[str, str], ...]]] = []
    for i in range(CONVERSATIONS_PER_COMPANY):
        channel = channels[i % len(channels)]
        status = statuses[(i // len(channels)) % len(statuses)]
        subject, script = THREADS[i % len(THREADS)]
        if status == Conversation.Status.NEW:
            # nobody has answered yet: only the customer's opening line(s)
            script = tuple(line for line in script[:1])
        elif status == Conversation.Status.IN_PROGRESS and script[-1][0] == "a":
            script = script[:-1]
        assignee = None if status == Conversation.Status.NEW else agents[i % len(agents)]
        if status == Conversation.Status.IN_PROGRESS and i % 5 == 0:
            assignee = admin
        conversation = Conversation(
            company=company,
            customer=customers[i % len(customers)],
            inbox=None if (channel == Channel.PHONE and i % 10 == 4) else inboxes[channel],
            channel=channel,
            status=status,
            assigned_user=assignee,
            subject=subject,
            last_message_at=now - timedelta(minutes=i * 97 + rng.randint(0, 50)),
        )
        conversations.append(conversation)
        threads.append((conversation, script))
    Conversation.objects.bulk_create(conversations)

    messages: list[Message] = []
    for conversation, script in threads:
        open_now = conversation.status in Conversation.OPEN_STATUSES
        start = conversation.last_message_at - timedelta(minutes=7 * (len(script) - 1))
        unread = 0
        for n, (who, text) in enumerate(script):
            is_last_customer_run = all(w == "c" for w, _ in script[n:])
            is_read = not (open_now and who == "c" and is_last_customer_run)
            if who == "c" and not is_read:
                unread += 1
            messages.append(
                Message(
                    company=company,
                    conversation=conversation,
                    inbox=conversation.inbox,
                    content=text,
                    sender_type=Message.SenderType.CUSTOMER
                    if who == "c"
                    else Message.SenderType.AGENT,
                    sender_user=None if who == "c" else (conversation.assigned_user or admin),
                    timestamp=start + timedelta(minutes=7 * n),
                    is_read=is_read,
                    provider_message_id=f"demo-{conversation.pk}-{n}",
                    delivery_status=Message.DeliveryStatus.READ
                    if who == "a"
                    else Message.DeliveryStatus.DELIVERED,
                )
            )
        conversation.unread_count = unread
    # one failed delivery, so the retry path has something to show
    failed = next(m for m in messages if m.sender_type == Message.SenderType.AGENT)
    failed.delivery_status = Message.DeliveryStatus.FAILED
    failed.delivery_attempts = 5
    failed.last_error = "The provider refused the message: recipient is not reachable."
    Message.objects.bulk_create(messages)
    Conversation.objects.bulk_update(conversations, ["unread_count"])
    progress(f"  {spec.name}: {len(conversations)} conversations, {len(messages)} messages")
    return company


def sign_ins() -> list[tuple[str, str, str]]:
    """(role, email, company) of every demo account; all share DEMO_PASSWORD."""
    rows = [("Super admin", SUPER_ADMIN_EMAIL, "all companies")]
    for spec in DEMO_COMPANIES:
        rows.append(("Company admin", f"admin@{spec.domain}", spec.name))
        rows.extend(
            ("Agent", f"{first.lower()}@{spec.domain}", spec.name) for first, _ in spec.agents
        )
    return rows


def seed_demo(progress: Callable[[str], None]) -> int:
    """Create whatever demo data is missing; return how many companies were created."""
    created = 0
    with transaction.atomic():
        if not User.objects.filter(email__iexact=SUPER_ADMIN_EMAIL).exists():
            User.objects.create_superuser(
                SUPER_ADMIN_EMAIL, DEMO_PASSWORD, first_name="Sam", last_name="Super"
            )
            progress(f"  super admin {SUPER_ADMIN_EMAIL}")
        for spec in DEMO_COMPANIES:
            if Company.objects.filter(slug=spec.slug).exists():
                progress(f"  {spec.name}: already there, left as it is")
                continue
            _seed_company(spec, progress)
            created += 1
    return created
