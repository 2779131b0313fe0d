"""Every URL of the project, with malformed values in every parameter it reads, never answers 500.

The URLs come from the URL conf (as in tests/test_permission_matrix.py), so a new page is walked
without anyone remembering to add it. For each URL, as the least privileged role that may use it,
a first request with good values records which query and form parameters the view reads (every
read of a request's GET or POST dict is noted); then each of those parameters, and each good value
sent, is replaced in turn by a malformed one: non-numeric, negative, huge, a NUL byte, overlong,
another kind of digit, empty, repeated, a file where text is expected. Path arguments get a huge
id too. Any answer of 500 or more fails, and the failures are listed together.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from accounts.models import Role
from conversations.models import Message
from inboxes.models import WebhookDelivery
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    CustomerFactory,
    MessageFactory,
    UserFactory,
    stored_attachment,
)
from tests.test_permission_matrix import RULES, url_names

OVERLONG = "x" * 140_000  # past csv's and most fields' limits
BAD_VALUES: dict[str, object] = {
    "non-numeric": "abc",
    "negative": "-1",
    "huge": "9223372036854775808" + "9" * 20,  # past PostgreSQL's bigint
    "NUL byte": "a\x00b",
    "overlong": OVERLONG,
    "other digit": "²",  # str.isdigit() says yes, int() says no
    "empty": "",
    "repeated": ["1", "abc"],
}
FILE_VALUE = "file"  # a file upload where a plain field is expected (POST only)
HUGE_ID = 10**20

# The good values a URL's form needs to get past its first check, so the walk reaches the code
# behind it. Parameters not listed here are still found by recording what the view reads.
CSV = b"name,email\nAda Lovelace,ada@example.com\n"


def good_values(world: "World", name: str) -> dict[str, object]:
    inbox_credentials = {
        "name": "Support line",
        "phone_number_id": "123",
        "business_account_id": "456",
        "access_token": "token",
        "app_secret": "secret",
    }
    return {
        "accounts:login": {"username": "nobody@example.com", "password": "wrong", "next": "/"},
        "set-password": {"new_password1": "a-long-pass-phrase", "new_password2": "other"},
        "conversations:inbox": {
            "tab": "unassigned",
            "status": "any",
            "channel": "whatsapp",
            "q": "Customer",
            "v": "x",
            "through": "2026-01-01T00:00:00+00:00_1",
        },
        "conversations:conversation": {"tab": "all", "status": "open", "q": "", "v": "x"},
        "conversations:more": {
            "after": "2099-01-01T00:00:00+00:00_1",
            "open": str(world.conversation.pk),
            "tab": "all",
        },
        "conversations:start": {
            "mode": "existing",
            "customer": str(world.conversation.customer_id),
            "channel": "whatsapp",
            "inbox": str(world.conversation.inbox_id),
            "subject": "Hello",
            "content": "First message",
        },
        "conversations:customer-choices": {"q": "Cust"},
        "conversations:poll": {"v": "x", "last_seen": str(world.message.pk), "rw": "1"},
        "conversations:earlier": {"before": str(world.message.pk)},
        "conversations:reply": {"content": "Hi there", "last_seen": str(world.newest_id())},
        "conversations:status": {"status": "in-progress", "last_seen": str(world.message.pk)},
        "conversations:assign": {"assignee": str(world.member.pk), "last_seen": "0", "rw": "1"},
        "conversations:undo-handover": {"token": world.undo_token(), "last_seen": "0"},
        "conversations:customer": {"name": "Renamed", "is_vip": "on"},
        "companies:staff-create": {
            "email": "new.person@example.com",
            "first_name": "New",
            "last_name": "Person",
            "role": "agent",
        },
        "companies:staff-edit": {"first_name": "Edited", "last_name": "", "role": "agent"},
        "companies:staff-active": {"active": "1"},
        "companies:settings": {"name": "Renamed company", "agents_see_all_conversations": "on"},
        "inboxes:create": {"kind": "whatsapp", **inbox_credentials},
        "inboxes:edit": inbox_credentials,
        "inboxes:active": {"active": "1"},
        "inboxes:health": {"show": "dead", "sends": "failed", "in_before": "1-1"},
        "customers:list": {"q": "Cust", "vip": "1", "page": "1"},
        "customers:export": {"q": "Cust", "vip": "1"},
        "customers:create": {"name": "New customer", "email": "n@example.com"},
        "customers:edit": {"name": "Edited customer", "phone": "+14155550100"},
        "customers:history": {"page": "1"},
        "customers:import": {"file": SimpleUploadedFile("c.csv", CSV, "text/csv")},
        "analytics:company-create": {
            "name": "Newco",
            "slug": "newco",
            "subscription_plan": "basic",
            "max_users": "5",
            "max_channels": "3",
            "admin_email": "boss@newco.example",
            "admin_first_name": "Boss",
        },
        "analytics:company-edit": {
            "subscription_plan": "pro",
            "max_users": "10",
            "max_channels": "5",
        },
        "analytics:company-active": {"active": "1"},
    }.get(name, {})


class World:
    """One company with staff, a customer, an inbox and a conversation with messages."""

    def __init__(self) -> None:
        self.company = CompanyFactory(max_users=50, max_channels=50)
        self.users = {
            "agent": UserFactory(company=self.company, role=Role.AGENT),
            "company_admin": UserFactory(company=self.company, role=Role.COMPANY_ADMIN),
            "super_admin": UserFactory(company=None, role=Role.SUPER_ADMIN),
        }
        self.conversation = ConversationFactory(company=self.company, assigned_user=None)
        self.message = MessageFactory(conversation=self.conversation)
        self.failed = MessageFactory(
            conversation=self.conversation, sender_type="agent", delivery_status="failed"
        )
        self.member = UserFactory(company=self.company, role=Role.AGENT)
        self.attachment = stored_attachment(self.conversation)
        self.dead = WebhookDelivery.objects.create(
            company=self.company,
            inbox_id=self.conversation.inbox_id,
            received_at=timezone.now(),
            body=b"{}",
            state=WebhookDelivery.State.DEAD,
        )
        CustomerFactory(company=self.company, name="Customer with a name")

    def undo_token(self) -> str:
        from conversations.services import handover_undo_token

        return handover_undo_token(
            self.users["agent"], self.conversation, previous_id=self.users["agent"].pk
        )

    def newest_id(self) -> int:
        return Message.objects.filter(conversation=self.conversation).latest("pk").pk

    def args(self, name: str) -> tuple:
        """Path arguments of URL `name`, by the object its rule points at."""
        obj = RULES[name][1]
        return {
            None: (),
            "cursor": (),
            "password_link": ("MQ", "not-a-valid-token"),
            "conversation": (self.conversation.pk,),
            "failed_message": (self.conversation.pk, self.failed.pk),
            "staff_member": (self.member.pk,),
            "inbox": (self.conversation.inbox_id,),
            "webhook": (self.conversation.inbox.kind, self.conversation.inbox.public_key),
            "attachment": (self.attachment.pk,),
            "dead_delivery": (self.conversation.inbox_id, self.dead.pk),
            "customer": (self.conversation.customer_id,),
            "company": (self.company.pk,),
        }[obj]


def role_that_may_use(name: str) -> str:
    """The least privileged role the permission matrix lets past the door (not refused, not
    sent to sign in)."""
    rule = RULES[name][2]
    for role in ("agent", "company_admin", "super_admin", "anonymous"):
        if rule[role] not in (403, 404) and not (role == "anonymous" and rule[role] == 302):
            return role
    return "anonymous"  # switched off here (404 for all): walked all the same


@contextmanager
def recording_reads() -> Iterator[set[str]]:
    """Every key looked up in a request's GET or POST dict while the block runs (files are
    walked through the good values that name them)."""
    keys: set[str] = set()
    originals = {
        attr: getattr(MultiValueDict, attr)
        for attr in ("__getitem__", "__contains__", "getlist", "get")
    }

    def recorder(attr: str):  # noqa: ANN202
        original = originals[attr]

        def read(self, key, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if isinstance(self, QueryDict) and isinstance(key, str):
                keys.add(key)
            return original(self, key, *args, **kwargs)

        return read

    for attr in originals:
        setattr(MultiValueDict, attr, recorder(attr))
    try:
        yield keys
    finally:
        for attr, original in originals.items():
            setattr(MultiValueDict, attr, original)


IGNORED_KEYS = {"csrfmiddlewaretoken"}


def walk(world: World, name: str, role: str) -> list[str]:
    """Send the URL its good values, then each read parameter malformed in turn; return the
    requests that answered 500 or more."""
    client = Client(raise_request_exception=False)
    good = good_values(world, name)
    failures: list[str] = []

    if role != "anonymous":
        client.force_login(world.users[role])

    def send(method: str, url: str, data: dict) -> int:
        if role != "anonymous" and name == "accounts:logout":
            client.force_login(world.users[role])  # signed out by the previous request
        if method == "get":
            response = client.get(url, {k: v for k, v in data.items() if k != "file"})
        else:
            response = client.post(url, data)
        return response.status_code

    url = reverse(name, args=world.args(name))
    for method in ("get", "post"):
        with recording_reads() as read:
            status = send(method, url, dict(good))
        if status >= 500:
            failures.append(f"{method.upper()} {url} with good values -> {status}")
            continue
        if status == 405:  # the view does not take this method: it reads nothing
            continue
        keys = (read | set(good)) - IGNORED_KEYS
        for key in sorted(keys):
            bad_values = dict(BAD_VALUES)
            if method == "post":
                bad_values[FILE_VALUE] = SimpleUploadedFile("x.txt", b"\x00\xff", "text/plain")
            for label, value in bad_values.items():
                data = {**good, key: value}
                if isinstance(good.get("file"), SimpleUploadedFile):
                    good["file"].seek(0)
                status = send(method, url, data)
                if status >= 500:
                    failures.append(f"{method.upper()} {url} {key}={label} -> {status}")
    for position, arg in enumerate(world.args(name)):
        if isinstance(arg, int):
            args = list(world.args(name))
            args[position] = HUGE_ID
            for method in ("get", "post"):
                status = send(method, reverse(name, args=args), dict(good))
                if status >= 500:
                    failures.append(f"{method.upper()} {name} with a huge id -> {status}")
    return failures


def walked_urls() -> list[tuple[str, str]]:
    return [
        (name, role_that_may_use(name))
        for name in sorted(url_names())
        if not name.startswith("admin:")
    ]


ADMIN_BAD_VALUES = ("non-numeric", "huge", "NUL byte")


def admin_args(world: World, name: str) -> tuple | None:
    """Path arguments of a Django admin URL: an existing row for the object pages."""
    from django.apps import apps
    from django.contrib.contenttypes.models import ContentType

    suffix = name.removeprefix("admin:")
    if suffix == "app_list":
        return ("conversations",)
    if suffix == "auth_user_password_change":  # UserAdmin names it so whatever the user model
        return (str(world.users["agent"].pk),)
    if suffix == "view_on_site":
        return (ContentType.objects.get_for_model(Message).pk, str(world.message.pk))
    for app_config in apps.get_app_configs():
        for model in app_config.get_models():
            prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
            if suffix.startswith(prefix):
                if suffix.removeprefix(prefix) in ("changelist", "add"):
                    return ()
                row = model._default_manager.order_by("pk").first()
                return (str(row.pk) if row else "1",)
    return ()


def admin_urls() -> list[str]:
    return sorted(
        name for name in url_names() if name.startswith("admin:") and name != "admin:None"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name, role", walked_urls())
def test_malformed_input_never_answers_500(name, role):
    world = World()
    assert walk(world, name, role) == []


@pytest.mark.django_db
def test_django_admin_pages_never_answer_500_to_malformed_query_values():
    """Django admin is Django's own, well-tested code: every admin page is opened once (and
    with a huge object id), and the lists, which read the query string, get malformed values."""
    world = World()
    client = Client(raise_request_exception=False)
    client.force_login(world.users["super_admin"])
    failures = []
    for name in admin_urls():
        args = admin_args(world, name)
        url = reverse(name, args=args)
        status = client.get(url).status_code
        if status >= 500:
            failures.append(f"GET {url} -> {status}")
        if args and name.endswith(("_change", "_delete", "_history")):
            status = client.get(reverse(name, args=(str(HUGE_ID),))).status_code
            if status >= 500:
                failures.append(f"GET {name} with a huge id -> {status}")
        if not name.endswith("_changelist"):
            continue
        for key in ("q", "o", "p", "e", "_to_field", "_popup", "id__gt"):
            for label in ADMIN_BAD_VALUES:
                status = client.get(url, {key: BAD_VALUES[label]}).status_code
                if status >= 500:
                    failures.append(f"GET {url} {key}={label} -> {status}")
    assert failures == []


@pytest.mark.django_db
def test_the_walk_covers_every_url_and_finds_what_views_read():
    """The walk is only as good as its reach: every URL is walked, and reads are recorded."""
    walked = {name for name, _ in walked_urls()}
    assert walked == {name for name in url_names() if not name.startswith("admin:")}
    world = World()
    client = Client()
    client.force_login(world.users["agent"])
    with recording_reads() as read:
        client.get(reverse("conversations:inbox"), {"q": "x"})
    assert {"q", "tab", "status", "channel"} <= read
