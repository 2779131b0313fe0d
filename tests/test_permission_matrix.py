"""Every URL in the URL conf x each role x own company / other company gives the expected answer.

The rules live in one table, RULES. A URL added without a rule fails
test_every_url_has_a_rule, so nobody ships a page without deciding who may see it.
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Role
from conversations.models import Conversation, Message
from inboxes.models import WebhookDelivery
from tests.factories import (
    CompanyFactory,
    ConversationFactory,
    MessageFactory,
    UserFactory,
    stored_attachment,
)

ROLES = ("anonymous", "agent", "company_admin", "super_admin")
SIGN_IN = 302  # anonymous visitors are sent to the sign-in page

# name: (method, object the URL points at, {role: status}); for URLs with an object, agents and
# company admins also get another company's object, which is always 404.
RULES: dict[str, tuple[str, str | None, dict[str, int]]] = {
    "landing": (
        "get",
        None,
        {"anonymous": 200, "agent": 302, "company_admin": 302, "super_admin": 302},
    ),
    "home": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 302, "company_admin": 302, "super_admin": 302},
    ),
    "healthz": ("get", None, dict.fromkeys(ROLES, 200)),
    "favicon": ("get", None, dict.fromkeys(ROLES, 301)),
    "accounts:login": (
        "get",
        None,
        {"anonymous": 200, "agent": 302, "company_admin": 302, "super_admin": 302},
    ),
    "accounts:logout": ("post", None, dict.fromkeys(ROLES, 302)),
    # "Forgot your password?" is public (signed-in people are told to sign out first)
    "accounts:password-reset": ("get", None, dict.fromkeys(ROLES, 200)),
    "accounts:password-reset-sent": ("get", None, dict.fromkeys(ROLES, 200)),
    # single sign-on routes answer 404 while no OpenID provider is configured (as in tests);
    # tests/accounts/test_oidc.py covers them configured
    "accounts:oidc_authenticate": ("get", None, dict.fromkeys(ROLES, 404)),
    "accounts:oidc_callback": ("get", None, dict.fromkeys(ROLES, 404)),
    "set-password": ("get", "password_link", dict.fromkeys(ROLES, 200)),
    "conversations:inbox": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:more": (
        "get",
        "cursor",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:start": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:customer-choices": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:conversation": (
        "get",
        "conversation",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:poll": (
        "get",
        "conversation",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:earlier": (
        "get",
        "conversation",
        {"anonymous": SIGN_IN, "agent": 400, "company_admin": 400, "super_admin": 403},
    ),
    "conversations:reply": (
        "post",
        "conversation",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:status": (
        "post",
        "conversation",
        # a form posted without JavaScript goes back to the conversation (HTMX gets the chat)
        {"anonymous": SIGN_IN, "agent": 302, "company_admin": 302, "super_admin": 403},
    ),
    "conversations:assign": (
        "post",
        "conversation",
        # a form posted without JavaScript goes back to the conversation (HTMX gets the chat)
        {"anonymous": SIGN_IN, "agent": 302, "company_admin": 302, "super_admin": 403},
    ),
    "conversations:undo-handover": (
        "post",
        "conversation",
        # without a token from a handover: refused with the reason
        {"anonymous": SIGN_IN, "agent": 400, "company_admin": 400, "super_admin": 403},
    ),
    "conversations:read": (
        "post",
        "conversation",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:customer": (
        "post",
        "conversation",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "conversations:retry": (
        "post",
        "failed_message",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "companies:overview": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "companies:staff": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "companies:staff-create": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "companies:staff-edit": (
        "get",
        "staff_member",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "companies:staff-active": (
        "post",
        "staff_member",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 302, "super_admin": 403},
    ),
    "companies:staff-link": (
        "post",
        "staff_member",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 302, "super_admin": 403},
    ),
    "companies:staff-reset": (
        "post",
        "staff_member",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 302, "super_admin": 403},
    ),
    "companies:settings": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    # providers' address: Meta's GET handshake without the inbox's verify token is refused
    "inboxes:webhook": ("get", "webhook", dict.fromkeys(ROLES, 403)),
    "conversations:attachment": (
        "get",
        "attachment",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "inboxes:list": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "inboxes:create": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "inboxes:edit": (
        "get",
        "inbox",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "inboxes:active": (
        "post",
        "inbox",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 302, "super_admin": 403},
    ),
    "inboxes:health": (
        "get",
        "inbox",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "inboxes:delivery-reprocess": (
        "post",
        "dead_delivery",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 302, "super_admin": 403},
    ),
    "customers:list": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "customers:export": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "customers:history": (
        "get",
        "customer",
        {"anonymous": SIGN_IN, "agent": 200, "company_admin": 200, "super_admin": 403},
    ),
    "customers:create": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "customers:edit": (
        "get",
        "customer",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "analytics:company-create": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 403, "super_admin": 200},
    ),
    "analytics:company-edit": (
        "get",
        "company",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 403, "super_admin": 200},
    ),
    "analytics:company-active": (
        "post",
        "company",
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 403, "super_admin": 302},
    ),
    "customers:import": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 200, "super_admin": 403},
    ),
    "analytics:system-overview": (
        "get",
        None,
        {"anonymous": SIGN_IN, "agent": 403, "company_admin": 403, "super_admin": 200},
    ),
}
# Django admin, every page: super admins only.
ADMIN_RULE = {"agent": 403, "company_admin": 403, "super_admin": 200}
OBJECT_URLS = {
    name
    for name, (_, obj, _) in RULES.items()
    if obj
    in {
        "conversation",
        "failed_message",
        "staff_member",
        "customer",
        "inbox",
        "attachment",
        "dead_delivery",
    }
}


def url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list, namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace]))
                walk(pattern.url_patterns, inner or None)
            elif isinstance(pattern, URLPattern):
                names.add(f"{namespace}:{pattern.name}" if namespace else str(pattern.name))

    walk(get_resolver().url_patterns, None)
    return names


def test_every_url_has_a_rule():
    missing = {name for name in url_names() if not name.startswith("admin:")} - set(RULES)
    assert missing == set(), f"add these URLs to RULES in {__file__}: {sorted(missing)}"


class World:
    """Two companies with staff and conversations; every object exists in both."""

    def __init__(self) -> None:
        self.own, self.other = CompanyFactory(), CompanyFactory()
        self.users = {
            "agent": UserFactory(company=self.own, role=Role.AGENT),
            "company_admin": UserFactory(company=self.own, role=Role.COMPANY_ADMIN),
            "super_admin": UserFactory(company=None, role=Role.SUPER_ADMIN),
        }
        self.objects = {company.pk: self._objects(company) for company in (self.own, self.other)}

    def _objects(self, company) -> dict[str, object]:
        conversation = ConversationFactory(company=company, assigned_user=None)
        MessageFactory(conversation=conversation)
        failed = MessageFactory(
            conversation=conversation, sender_type="agent", delivery_status="failed"
        )
        inbox = conversation.inbox
        dead = WebhookDelivery.objects.create(
            company=company,
            inbox_id=conversation.inbox_id,
            received_at=timezone.now(),
            body=b"{}",
            state=WebhookDelivery.State.DEAD,
        )
        return {
            "conversation": (conversation.pk,),
            "dead_delivery": (conversation.inbox_id, dead.pk),
            "failed_message": (conversation.pk, failed.pk),
            "webhook": (inbox.kind, inbox.public_key),
            "attachment": (stored_attachment(conversation).pk,),
            "staff_member": (UserFactory(company=company, role=Role.AGENT).pk,),
            "inbox": (conversation.inbox_id,),
            "customer": (conversation.customer_id,),
            "company": (company.pk,),
        }

    def client(self, role: str) -> Client:
        client = Client()
        if role != "anonymous":
            client.force_login(self.users[role])
        return client

    def request(self, role: str, name: str, *, company=None) -> int:
        method, obj, _ = RULES[name]
        args, query = (), ""
        if obj == "password_link":
            args = ("MQ", "not-a-valid-token")
        elif obj == "cursor":
            query = "?after=2026-01-01T00:00:00%2B00:00_1"
        elif obj is not None:
            args = self.objects[(company or self.own).pk][obj]
        data = {
            "active": "1" if name == "analytics:company-active" else "0",
            "content": "hi",
            "last_seen": "9" * 12,
            "status": "resolved",
            "assignee": "me",
            "name": "N",
        }
        client = self.client(role)
        url = reverse(name, args=args) + query
        response = client.post(url, data) if method == "post" else client.get(url)
        if role == "anonymous" and response.status_code == 302:
            location = response["Location"]
            assert name in {"landing", "accounts:logout"} or location.startswith(
                reverse("accounts:login")
            ), location
        return response.status_code


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_answer(name, role):
    world = World()
    assert world.request(role, name) == RULES[name][2][role]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, role",
    [
        (name, role)
        for name in sorted(OBJECT_URLS)
        for role in ("agent", "company_admin")
        if RULES[name][2][role] < 400  # roles that may use the URL on their own company
    ],
)
def test_another_companys_object_is_a_404(name, role):
    world = World()
    assert world.request(role, name, company=world.other) == 404


# An agent on a colleague's conversation, by the company setting agents_see_all_conversations:
# on (the default), they read it and every change is refused with the reason (403); off, it is
# not there for them (404). Every URL that takes a conversation must be listed.
COLLEAGUE_RULES: dict[str, dict[bool, int]] = {
    "conversations:conversation": {True: 200, False: 404},
    "conversations:poll": {True: 200, False: 200},  # off: says it left the view, stops polling
    "conversations:earlier": {True: 400, False: 404},  # 400: no message id given
    "conversations:reply": {True: 403, False: 404},
    "conversations:status": {True: 403, False: 404},
    "conversations:assign": {True: 403, False: 404},
    "conversations:undo-handover": {True: 400, False: 400},  # no token of theirs: refused
    "conversations:read": {True: 403, False: 404},
    "conversations:customer": {True: 200, False: 404},  # the customer's details stay editable
    "conversations:retry": {True: 403, False: 404},
    "customers:history": {True: 200, False: 200},  # lists only what they may open
}


def test_every_conversation_url_has_a_colleague_rule():
    takes_a_conversation = {
        name for name, (_, obj, _) in RULES.items() if obj in {"conversation", "failed_message"}
    }
    assert takes_a_conversation - set(COLLEAGUE_RULES) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("sees_all", [True, False])
@pytest.mark.parametrize("name", sorted(COLLEAGUE_RULES))
def test_an_agent_on_a_colleagues_conversation(name, sees_all):
    world = World()
    world.own.agents_see_all_conversations = sees_all
    world.own.save()
    colleague = UserFactory(company=world.own, role=Role.AGENT)
    conversation_id = world.objects[world.own.pk]["conversation"][0]
    Conversation.objects.filter(pk=conversation_id).update(assigned_user=colleague, status="new")
    assert world.request("agent", name) == COLLEAGUE_RULES[name][sees_all]
    conversation = Conversation.objects.get(pk=conversation_id)
    assert (conversation.assigned_user, conversation.status) == (colleague, "new")
    assert not Message.objects.filter(conversation=conversation, content="hi").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_django_admin_is_for_super_admins_on_every_model_page(role):
    world = World()
    client = world.client(role)
    pages = [reverse("admin:index")]
    for model in (
        "companies/company",
        "accounts/user",
        "customers/customer",
        "inboxes/inbox",
        "conversations/conversation",
        "conversations/message",
    ):
        pages += [f"/admin/{model}/", f"/admin/{model}/add/"]
    pages.append(reverse("admin:companies_company_change", args=[world.own.pk]))
    agent = world.users["agent"].pk
    pages.append(reverse("admin:auth_user_password_change", args=[agent]))
    for page in pages:
        response = client.get(page, follow=True)
        if role == "anonymous":  # sent to the hub's own sign-in page
            assert response.redirect_chain[-1][0].startswith(reverse("accounts:login")), page
        else:
            assert response.status_code == ADMIN_RULE[role], (page, response.status_code)
