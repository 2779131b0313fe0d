"""The last-admin rule under concurrency: two admins acting on each other at the same moment,
each in its own thread and database connection, never leave the company without an admin."""

import contextlib
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from accounts import services
from accounts.models import Role, User
from tests.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def demote(actor: User, target: User) -> None:
    services.update_staff_member(
        actor,
        company=actor.company,
        user_id=target.pk,
        first_name=target.first_name,
        last_name=target.last_name,
        role=Role.AGENT,
    )


def deactivate(actor: User, target: User) -> None:
    services.set_staff_member_active(
        actor, company=actor.company, user_id=target.pk, is_active=False
    )


@pytest.fixture
def rendezvous(monkeypatch):
    """Holds each change just after its last-admin check until the other change has made its own
    check too (or one second has passed: then the other is waiting for a lock). Without locking,
    both checks see two admins and both changes go through."""
    barrier = threading.Barrier(2)
    check = services._would_leave_no_admin

    def check_then_wait(company, user):
        answer = check(company, user)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)
        return answer

    monkeypatch.setattr(services, "_would_leave_no_admin", check_then_wait)
    return barrier


def at_once(*changes) -> list[Exception | None]:
    outcomes: list[Exception | None] = [None] * len(changes)

    def run(index: int, change, actor: User, target: User) -> None:
        try:
            change(actor, target)
        except (ValidationError, PermissionDenied) as refused:
            outcomes[index] = refused
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, *change)) for index, change in enumerate(changes)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def active_admins(company) -> int:
    return User.objects.filter(company=company, role=Role.COMPANY_ADMIN, is_active=True).count()


@pytest.mark.parametrize(
    "first, second",
    [(demote, demote), (deactivate, deactivate), (demote, deactivate), (deactivate, demote)],
    ids=["demote-demote", "deactivate-deactivate", "demote-deactivate", "deactivate-demote"],
)
def test_two_admins_acting_on_each_other_at_once_leave_one_admin(rendezvous, first, second):
    company = CompanyFactory()
    ana = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    ben = UserFactory(company=company, role=Role.COMPANY_ADMIN)
    outcomes = at_once((first, ana, ben), (second, ben, ana))
    assert active_admins(company) == 1
    assert sum(outcome is None for outcome in outcomes) == 1  # one went through, one was refused


def test_many_rounds_without_help_keep_an_admin():
    """The same race left to the scheduler, a few times over."""
    for _ in range(6):
        company = CompanyFactory()
        ana = UserFactory(company=company, role=Role.COMPANY_ADMIN)
        ben = UserFactory(company=company, role=Role.COMPANY_ADMIN)
        at_once((deactivate, ana, ben), (demote, ben, ana))
        assert active_admins(company) == 1
