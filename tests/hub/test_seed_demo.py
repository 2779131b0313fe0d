import pytest
from django.core.management import call_command

from accounts.models import Role, User
from companies.models import Company
from conversations.models import Conversation, Message
from customers.models import Customer
from hub.demo import DEMO_PASSWORD, sign_ins
from inboxes.models import Channel

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        "companies": Company.objects.count(),
        "users": User.objects.count(),
        "customers": Customer.objects.count(),
        "conversations": Conversation.objects.count(),
        "messages": Message.objects.count(),
    }


def test_seed_demo_builds_the_demo_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert first["companies"] == 2
    assert first["users"] == 1 + 2 * 4
    assert first["customers"] == 60
    assert first["conversations"] == 120
    assert "admin@acme.example" in capsys.readouterr().out


def test_demo_companies_are_on_different_plans_with_full_staff():
    call_command("seed_demo")
    plans = set(Company.objects.values_list("subscription_plan", flat=True))
    assert len(plans) == 2
    for company in Company.objects.all():
        staff = User.objects.for_company(company)
        assert staff.filter(role=Role.COMPANY_ADMIN).count() == 1
        assert staff.filter(role=Role.AGENT).count() == 3
        assert Customer.objects.for_company(company).filter(is_vip=True).exists()


def test_demo_conversations_cover_every_channel_and_status_with_real_threads():
    call_command("seed_demo")
    for company in Company.objects.all():
        conversations = Conversation.objects.for_company(company)
        assert set(conversations.values_list("channel", flat=True)) == set(Channel.values)
        assert set(conversations.values_list("status", flat=True)) == set(
            Conversation.Status.values
        )
        messages = Message.objects.for_company(company)
        assert messages.filter(sender_type="customer").exists()
        assert messages.filter(sender_type="agent").exists()
        # unread badges agree with the unread customer messages behind them
        for conversation in conversations:
            unread = messages.filter(
                conversation=conversation, sender_type="customer", is_read=False
            ).count()
            assert conversation.unread_count == unread
        assert conversations.filter(unread_count__gt=0).exists()


def test_every_demo_sign_in_works(client):
    call_command("seed_demo")
    for _role, email, _company in sign_ins():
        assert client.login(username=email, password=DEMO_PASSWORD), email
        client.logout()


def test_if_empty_leaves_an_existing_database_alone(capsys):
    User.objects.create_superuser("someone@example.com", "x-very-secret-1")
    call_command("seed_demo", if_empty=True)
    assert Company.objects.count() == 0
