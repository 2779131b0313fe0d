"""Saving an inbox checks its credentials with the provider (the local Graph API here): a refused
token or an unknown account is a form error naming the field; an unreachable provider saves them
unchecked, with a warning."""

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse

from accounts.models import Role
from inboxes import services
from inboxes.channels import CredentialsRejected, SendError, adapter_for_kind
from inboxes.local_providers.graph import LocalGraphServer
from inboxes.models import Inbox
from tests.conftest import signed_in
from tests.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

WHATSAPP = {
    "phone_number_id": "106540352242922",
    "business_account_id": "102290129340398",
    "access_token": "EAAG-token",
    "app_secret": "app-secret",
}


@pytest.fixture
def graph():
    with LocalGraphServer() as server, override_settings(GRAPH_API_BASE_URL=server.url):
        yield server


@pytest.fixture
def admin():
    return UserFactory(company=CompanyFactory(), role=Role.COMPANY_ADMIN)


def check(credentials: dict) -> None:
    adapter_for_kind("whatsapp").check_credentials(Inbox(kind="whatsapp", credentials=credentials))


def test_good_credentials_pass_and_ask_for_the_account_with_the_token(graph):
    check(WHATSAPP)
    [request] = graph.requests
    assert (request.method, request.path) == ("GET", "/v21.0/106540352242922")
    assert request.authorization == "Bearer EAAG-token"


def test_a_refused_token_names_the_token_and_says_why(graph):
    graph.fail_next(401, code=190, message="Error validating access token: Session has expired")
    with pytest.raises(
        CredentialsRejected, match="The access token was refused: .*Error valid"
    ) as e:
        check(WHATSAPP)
    assert e.value.field == "access_token"
    assert "code 190" in str(e.value)


def test_an_unknown_account_names_the_account_field(graph):
    graph.fail_next(400, code=100, message="Unsupported get request. Object with ID does not exist")
    with pytest.raises(CredentialsRejected, match="does not know '106540352242922'") as e:
        check(WHATSAPP)
    assert e.value.field == "phone_number_id"


@pytest.mark.parametrize(
    ("status", "code", "delay"),
    [(500, 1, 0), (429, 4, 0), (0, 0, 2.0)],
    ids=["5xx", "rate", "hang"],
)
def test_a_provider_that_cannot_answer_now_does_not_refuse_them(graph, status, code, delay):
    graph.fail_next(status, code=code, delay=delay)
    with override_settings(PROVIDER_TIMEOUT_SECONDS=0.5), pytest.raises(SendError):
        check(WHATSAPP)


def test_the_service_refuses_a_rejected_token_and_stores_nothing(graph, admin):
    graph.fail_next(401, code=190, message="Invalid OAuth access token.")
    with pytest.raises(ValidationError) as refused:
        services.create_inbox(
            admin, company=admin.company, kind="whatsapp", name="WA", credentials=WHATSAPP
        )
    assert "The access token was refused" in refused.value.message_dict["access_token"][0]
    assert not Inbox.objects.exists()


def test_the_form_shows_the_failure_and_keeps_the_other_fields(graph, admin):
    graph.fail_next(401, code=190, message="Invalid OAuth access token.")
    client = signed_in(admin)
    response = client.post(
        reverse("inboxes:create") + "?kind=whatsapp",
        {"kind": "whatsapp", "name": "Sales", **WHATSAPP},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "The access token was refused: Meta answered 401: Invalid OAuth access token." in page
    assert "(code 190)" in page
    assert 'value="Sales"' in page and 'value="106540352242922"' in page
    assert "EAAG-token" not in page and "app-secret" not in page  # secrets stay write-only
    assert not Inbox.objects.exists()
    # fixed, it connects
    response = client.post(
        reverse("inboxes:create") + "?kind=whatsapp",
        {"kind": "whatsapp", "name": "Sales", **WHATSAPP},
    )
    assert response.status_code == 302
    assert Inbox.objects.get().name == "Sales"


def test_an_unreachable_provider_saves_them_unchecked_with_a_warning(admin):
    # tests point GRAPH_API_BASE_URL at a closed loopback port
    response = signed_in(admin).post(
        reverse("inboxes:create") + "?kind=whatsapp",
        {"kind": "whatsapp", "name": "Sales", **WHATSAPP},
        follow=True,
    )
    assert Inbox.objects.get().name == "Sales"
    assert "The credentials were saved but not checked: Meta could not be reached" in (
        response.content.decode()
    )


def test_an_edit_that_keeps_the_credentials_does_not_ask_again(graph, admin):
    inbox = services.create_inbox(
        admin, company=admin.company, kind="whatsapp", name="WA", credentials=WHATSAPP
    )
    graph.reset()
    services.update_inbox(
        admin,
        company=admin.company,
        inbox_id=inbox.pk,
        name="Renamed",
        credentials={**WHATSAPP, "access_token": ""},  # blank keeps the stored token
    )
    assert graph.requests == []
    graph.fail_next(401, code=190, message="Invalid OAuth access token.")
    with pytest.raises(ValidationError, match="access token was refused"):
        services.update_inbox(
            admin,
            company=admin.company,
            inbox_id=inbox.pk,
            name="Renamed",
            credentials={**WHATSAPP, "access_token": "EAAG-expired"},
        )
    assert Inbox.objects.get(pk=inbox.pk).credentials["access_token"] == "EAAG-token"
