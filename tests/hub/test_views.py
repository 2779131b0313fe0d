import re

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.decorators import role_required
from accounts.models import Role
from tests.conftest import signed_in
from tests.factories import PASSWORD, ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_landing_page_welcomes_anonymous_visitors(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sign in to your workspace" in response.content


def test_the_landing_page_sends_a_signed_in_user_home(agent):
    response = signed_in(agent).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize(
    "role, page",
    [
        (Role.AGENT, "conversations:inbox"),
        (Role.COMPANY_ADMIN, "companies:overview"),
        (Role.SUPER_ADMIN, "analytics:system-overview"),
    ],
)
def test_each_role_has_its_own_home(company, role, page):
    user = UserFactory(role=role, company=None if role == Role.SUPER_ADMIN else company)
    client = signed_in(user)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(page)
    assert client.get(response["Location"]).status_code == 200


def test_sign_in_with_email_and_password_then_sign_out(agent):
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": agent.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("conversations:inbox")).status_code == 200
    assert client.get(reverse("accounts:logout")).status_code == 405  # sign-out is POST only
    client.post(reverse("accounts:logout"))
    response = client.get(reverse("conversations:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_wrong_password_shows_a_clear_error(agent):
    response = Client().post(
        reverse("accounts:login"), {"username": agent.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert b"That email and password do not match" in response.content


def test_a_deactivated_company_is_refused_with_a_reason(agent):
    agent.company.is_active = False
    agent.company.save()
    response = Client().post(
        reverse("accounts:login"), {"username": agent.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert b"company&#x27;s account is deactivated" in response.content
    assert "_auth_user_id" not in Client().session


def test_deactivating_a_company_ends_its_users_sessions(agent):
    client = signed_in(agent)
    assert client.get(reverse("conversations:inbox")).status_code == 200
    agent.company.is_active = False
    agent.company.save()
    response = client.get(reverse("conversations:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_deactivating_a_user_ends_their_session(agent):
    client = signed_in(agent)
    agent.is_active = False
    agent.save()
    assert client.get(reverse("conversations:inbox")).status_code == 302


@role_required(Role.COMPANY_ADMIN)
def admins_only(request):
    return HttpResponse("secret")


class TestRoleRequired:
    def _request(self, user=None, htmx=False):
        headers = {"HX-Request": "true"} if htmx else {}
        request = RequestFactory().get("/somewhere/", headers=headers)
        from django.contrib.auth.models import AnonymousUser
        from django_htmx.middleware import HtmxDetails

        request.user = user or AnonymousUser()
        request.htmx = HtmxDetails(request)
        return request

    def test_anonymous_is_sent_to_sign_in(self):
        response = admins_only(self._request())
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('accounts:login')}?next=/somewhere/"

    def test_anonymous_htmx_request_gets_a_client_redirect(self):
        response = admins_only(self._request(htmx=True))
        assert response.status_code == 200
        assert response["HX-Redirect"] == f"{reverse('accounts:login')}?next=/somewhere/"

    def test_the_wrong_role_is_forbidden(self, agent):
        from django.core.exceptions import PermissionDenied

        with pytest.raises(PermissionDenied):
            admins_only(self._request(agent))

    def test_the_right_role_passes(self, company_admin):
        assert admins_only(self._request(company_admin)).content == b"secret"


@pytest.mark.parametrize("url", ["/admin/", "/admin/companies/company/", "/admin/accounts/user/"])
def test_django_admin_is_for_super_admins_only(url, agent, company_admin, super_admin):
    assert signed_in(super_admin).get(url).status_code == 200
    assert signed_in(company_admin).get(url + "").status_code in (302, 403)
    assert signed_in(agent).get(url, follow=True).status_code == 403
    assert signed_in(company_admin).get(url, follow=True).status_code == 403
    anonymous = Client().get(url, follow=True)
    assert anonymous.redirect_chain[-1][0].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    "model", ["company", "user", "customer", "inbox", "conversation", "message"]
)
def test_every_model_has_a_working_admin_list_and_search(model, super_admin):
    ConversationFactory()
    app = {
        "company": "companies",
        "user": "accounts",
        "customer": "customers",
        "inbox": "inboxes",
        "conversation": "conversations",
        "message": "conversations",
    }[model]
    client = signed_in(super_admin)
    assert client.get(f"/admin/{app}/{model}/").status_code == 200
    assert client.get(f"/admin/{app}/{model}/?q=x").status_code == 200
    assert client.get(f"/admin/{app}/{model}/add/").status_code == 200


@pytest.mark.parametrize(
    "role, url",
    [
        (Role.AGENT, "/company/"),
        (Role.AGENT, "/system/"),
        (Role.COMPANY_ADMIN, "/system/"),
        (Role.SUPER_ADMIN, "/company/"),
        (Role.SUPER_ADMIN, "/inbox/"),
    ],
)
def test_pages_of_other_roles_are_forbidden(company, role, url):
    user = UserFactory(role=role, company=None if role == Role.SUPER_ADMIN else company)
    response = signed_in(user).get(url)
    assert response.status_code == 403
    assert b"You do not have access to this page" in response.content


def test_unknown_pages_get_the_styled_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"styles.css" in response.content


def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up"}


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_when_the_database_does_not(client, monkeypatch):
    connection.close()
    # a real connection attempt to a port where no PostgreSQL listens
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", "9")
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "connect_timeout", 2)
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_pages_send_a_content_security_policy_and_carry_no_inline_script(agent):
    response = signed_in(agent).get(reverse("conversations:inbox"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'self'" in policy
    scripts = re.findall(rb"<script[^>]*>", response.content)
    assert scripts, "expected the htmx script"
    assert all(b" src=" in tag for tag in scripts)
    assert b"vendor/htmx.min.js" in response.content
    assert b"X-CSRFToken" in response.content  # htmx sends the CSRF token on every request


def test_the_500_page_is_styled_and_needs_no_database():
    from hub.views import server_error

    response = server_error(RequestFactory().get("/broken/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
    assert b"styles.css" in response.content


def test_favicon_ico_is_served(client, super_admin):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/favicon.ico"
    from django.contrib.staticfiles import finders

    icon = open(finders.find("favicon.ico"), "rb").read()  # noqa: SIM115
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file
    # Django admin pages name the hub's icon, so browsers need not ask for /favicon.ico at all
    page = signed_in(super_admin).get(reverse("admin:index")).content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in page


def test_every_response_varies_by_hx_request(agent, client):
    for response in (
        client.get("/"),
        client.get(reverse("conversations:inbox")),  # sign-in redirect (HX-Redirect for HTMX)
        signed_in(agent).get(reverse("customers:list")),
        signed_in(agent).get("/no/such/page/"),
    ):
        assert "HX-Request" in response["Vary"], response


@pytest.mark.parametrize(
    "status, exception, reason",
    [
        (400, "BadRequest", "Last seen: Enter a whole number."),
        (403, "PermissionDenied", "Ben is assigned to this conversation."),
        (404, "Http404", "This conversation is not in your view any more."),
    ],
)
def test_error_answers_carry_their_reason_plain_for_htmx_and_on_the_page(
    agent, status, exception, reason
):
    from django.core import exceptions
    from django.http import Http404

    from hub import views

    error = {"BadRequest": exceptions.BadRequest, "PermissionDenied": exceptions.PermissionDenied}
    raised = error.get(exception, Http404)(reason)
    handler = {400: views.bad_request, 403: views.permission_denied, 404: views.page_not_found}
    request = RequestFactory().get("/inbox/c/1/reply/", headers={"HX-Request": "true"})
    request.user = agent
    response = handler[status](request, raised)
    assert response.status_code == status
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == reason
    assert "HX-Request" in response["Vary"]
    page = signed_in(agent)
    if status == 404:
        html = page.get("/inbox/c/999999/")
        assert html.status_code == 404
        assert b"This conversation is not in your view any more." in html.content
        assert b"<html" in html.content


def test_a_500_to_an_htmx_request_is_a_short_plain_reason():
    from hub.views import server_error

    request = RequestFactory().get("/inbox/c/1/reply/", headers={"HX-Request": "true"})
    response = server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"Something went wrong on our side. Try again in a moment."


def test_a_resolver_404_shows_the_default_reason_not_its_internals(agent):
    response = signed_in(agent).get("/no/such/page/", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.content == (
        b"The page you asked for does not exist, or it belongs to another workspace."
    )
