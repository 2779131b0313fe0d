"""Staff management by company admins: limits, roles, the last admin, deactivation, links."""

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Role, User
from tests.conftest import signed_in
from tests.factories import PASSWORD, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    return CompanyFactory(max_users=3)


@pytest.fixture
def admin(company):
    return UserFactory(company=company, role=Role.COMPANY_ADMIN, email="boss@example.com")


def create(admin, company, email="new@example.com", role=Role.AGENT):
    return services.create_staff_member(
        admin, company=company, email=email, first_name="New", last_name="Person", role=role
    )


def test_an_admin_adds_an_agent_who_sets_a_password_from_the_emailed_link(admin, company):
    client = signed_in(admin)
    response = client.post(
        reverse("companies:staff-create"),
        {
            "email": "Agent.One@Example.com",
            "first_name": "Agent",
            "last_name": "One",
            "role": "agent",
        },
        follow=True,
    )
    assert b"agent.one@example.com was added and emailed a link to sign in." in response.content
    user = User.objects.get(email="agent.one@example.com")
    assert (user.company, user.role, user.has_usable_password()) == (company, Role.AGENT, False)
    link = re.search(r"https?://\S+", mail.outbox[-1].body).group(0)
    path = link.split("testserver", 1)[1]
    assert path.encode() not in response.content  # the link goes to their mailbox only
    visitor = Client()
    form_page = visitor.get(path, follow=True)
    assert b"Choose your password" in form_page.content
    done = visitor.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-new-passphrase", "new_password2": "a-long-new-passphrase"},
    )
    assert done.status_code == 302
    assert Client().login(username="agent.one@example.com", password="a-long-new-passphrase")


def test_the_user_limit_is_enforced_with_a_clear_message(admin, company):
    create(admin, company, "a@example.com")
    create(admin, company, "b@example.com")
    with pytest.raises(ValidationError, match="reached its 3-user limit"):
        create(admin, company, "c@example.com")
    response = signed_in(admin).post(
        reverse("companies:staff-create"),
        {"email": "c@example.com", "first_name": "C", "role": "agent"},
    )
    assert response.status_code == 422
    assert b"reached its 3-user limit. Raise the limit or deactivate a user." in response.content


def test_nobody_grants_super_admin(admin, company):
    with pytest.raises(ValidationError):
        create(admin, company, role=Role.SUPER_ADMIN)
    response = signed_in(admin).post(
        reverse("companies:staff-create"),
        {"email": "x@example.com", "first_name": "X", "role": "super_admin"},
    )
    assert response.status_code == 422
    assert not User.objects.filter(email="x@example.com").exists()


def test_an_email_used_in_another_company_is_refused_without_saying_by_whom(admin, company):
    """The answer for another company's user, a super admin and ... is one generic sentence."""
    UserFactory(email="theirs@example.com", company=CompanyFactory())
    UserFactory(email="root@example.com", company=None, role=Role.SUPER_ADMIN)
    answers = set()
    for email in ("THEIRS@example.com", "root@example.com"):
        response = signed_in(admin).post(
            reverse("companies:staff-create"), {"email": email, "first_name": "X", "role": "agent"}
        )
        assert response.status_code == 422
        answers.add(response.context["form"].errors["email"][0])
    assert answers == {services.EMAIL_UNAVAILABLE}
    assert (
        "theirs" not in services.EMAIL_UNAVAILABLE and "company" not in services.EMAIL_UNAVAILABLE
    )


def test_an_email_of_this_companys_own_staff_says_who_and_what_to_do(admin, company):
    UserFactory(email="ana@example.com", company=company)
    UserFactory(email="old@example.com", company=company, is_active=False)
    with pytest.raises(ValidationError, match="ana@example.com already works here"):
        create(admin, company, "Ana@example.com")
    with pytest.raises(ValidationError, match="deactivated. Reactivate them instead"):
        create(admin, company, "old@example.com")


def test_an_agent_cannot_manage_staff(company):
    agent = UserFactory(company=company, role=Role.AGENT)
    with pytest.raises(PermissionDenied):
        create(agent, company)
    assert signed_in(agent).get(reverse("companies:staff")).status_code == 403


def test_the_last_active_admin_can_be_neither_demoted_nor_deactivated(admin, company):
    with pytest.raises(ValidationError, match="last active admin"):
        services.update_staff_member(
            admin, company=company, user_id=admin.pk, first_name="B", last_name="", role="agent"
        )
    other = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    # with two admins, one may step down
    services.update_staff_member(
        other, company=company, user_id=admin.pk, first_name="B", last_name="", role="agent"
    )
    root = UserFactory(company=None, role=Role.SUPER_ADMIN)
    with pytest.raises(ValidationError, match="last active admin"):
        services.set_staff_member_active(root, company=company, user_id=other.pk, is_active=False)
    other.refresh_from_db()
    assert other.is_active and other.is_company_admin


def test_deactivation_ends_the_session_and_reactivation_counts_against_the_limit(admin, company):
    agent = UserFactory(company=company, role=Role.AGENT)
    agent_client = signed_in(agent)
    assert agent_client.get(reverse("conversations:inbox")).status_code == 200
    response = signed_in(admin).post(
        reverse("companies:staff-active", args=[agent.pk]), {"active": "0"}, follow=True
    )
    assert b"deactivated; their open sessions have ended" in response.content
    assert agent_client.get(reverse("conversations:inbox")).status_code == 302
    create(admin, company, "a@example.com")
    create(admin, company, "b@example.com")  # now 3 active: the limit
    with pytest.raises(ValidationError, match="user limit"):
        services.set_staff_member_active(admin, company=company, user_id=agent.pk, is_active=True)


def test_another_companys_people_and_super_admins_are_404(admin, company):
    outsider = UserFactory(company=CompanyFactory(), role=Role.AGENT)
    root = UserFactory(company=None, role=Role.SUPER_ADMIN)
    client = signed_in(admin)
    for person in (outsider, root):
        assert client.get(reverse("companies:staff-edit", args=[person.pk])).status_code == 404
        assert (
            client.post(
                reverse("companies:staff-active", args=[person.pk]), {"active": "0"}
            ).status_code
            == 404
        )
        assert client.post(reverse("companies:staff-link", args=[person.pk])).status_code == 404
        person.refresh_from_db()
        assert person.is_active


def test_the_staff_list_shows_usage_against_the_limit(admin, company):
    UserFactory(company=company, role=Role.AGENT, email="ana@example.com")
    response = signed_in(admin).get(reverse("companies:staff"))
    assert response.status_code == 200
    assert b"2 of 3 active users" in response.content
    assert b"ana@example.com" in response.content


def test_sign_in_still_works_for_existing_password_users(admin):
    assert Client().login(username=admin.email, password=PASSWORD)


def link_path(message) -> str:
    return re.search(r"https?://testserver(\S+)", message.body).group(1)


def test_an_invitation_is_resent_only_to_someone_who_never_signed_in(admin, company):
    invited = UserFactory(company=company, email="new@example.com")
    client = signed_in(admin)
    page = client.post(reverse("companies:staff-link", args=[invited.pk]), follow=True)
    assert b"Emailed new@example.com a new link to sign in." in page.content
    assert [m.to for m in mail.outbox] == [["new@example.com"]]
    assert link_path(mail.outbox[0]).encode() not in page.content
    # once they signed in, an invitation link would let the admin sign in as them: refused
    Client().login(username=invited.email, password=PASSWORD)
    mail.outbox.clear()
    refused = client.post(reverse("companies:staff-link", args=[invited.pk]), follow=True)
    assert b"has signed in before. Use Reset password" in refused.content
    assert mail.outbox == []
    # the same for another admin: nobody gets a working link to a colleague's account
    colleague = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    Client().login(username=colleague.email, password=PASSWORD)
    with pytest.raises(ValidationError):
        services.send_invitation(
            admin, company=company, user_id=colleague.pk, base_url="http://testserver/"
        )
    assert mail.outbox == []


def test_a_password_reset_signs_the_person_out_and_tells_them_who_did_it(admin, company):
    colleague = UserFactory(company=company, role=Role.COMPANY_ADMIN, email="co@example.com")
    their_browser = Client()
    their_browser.post(
        reverse("accounts:login"), {"username": colleague.email, "password": PASSWORD}
    )
    assert their_browser.get(reverse("companies:staff")).status_code == 200
    page = signed_in(admin).post(reverse("companies:staff-reset", args=[colleague.pk]), follow=True)
    assert b"co@example.com was signed out and emailed a link" in page.content
    assert their_browser.get(reverse("companies:staff")).status_code == 302  # signed out
    assert not Client().login(username=colleague.email, password=PASSWORD)
    (message,) = mail.outbox
    assert message.to == ["co@example.com"]
    assert f"{admin} ({admin.email}) reset your password" in message.body
    assert link_path(message).encode() not in page.content
    # the emailed link lets them (and only them, from their mailbox) choose a new password
    visitor = Client()
    form = visitor.get(link_path(message), follow=True)
    done = visitor.post(
        form.redirect_chain[-1][0],
        {"new_password1": "mine-again-2026", "new_password2": "mine-again-2026"},
    )
    assert done.status_code == 302
    assert Client().login(username=colleague.email, password="mine-again-2026")


def test_an_admin_cannot_reset_their_own_password_from_the_staff_page(admin, company):
    page = signed_in(admin).post(reverse("companies:staff-reset", args=[admin.pk]), follow=True)
    assert b"You cannot reset your own password here" in page.content
    assert Client().login(username=admin.email, password=PASSWORD)


def test_the_staff_page_offers_invitation_or_reset_by_whether_someone_signed_in(admin, company):
    UserFactory(company=company, email="invited@example.com")
    admin.last_login = admin.created_at
    admin.save()
    worker = UserFactory(company=company, email="worker@example.com")
    Client().login(username=worker.email, password=PASSWORD)
    page = signed_in(admin).get(reverse("companies:staff")).content.decode()

    def row(email: str) -> str:
        return page.split(f'data-member="{email}"', 1)[1].split("</tr>", 1)[0]

    assert "Resend invitation" in row("invited@example.com") and "Invited" in row(
        "invited@example.com"
    )
    assert "Reset password" in row("worker@example.com")
    assert "Resend invitation" not in row("worker@example.com")
    assert "Reset password" not in row("boss@example.com")  # not for oneself
