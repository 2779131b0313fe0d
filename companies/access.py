"""Which company an actor may act in: the one check at the entry of every public service.

A service is called by a signed-in user (from a view, a command or a test) or, for work nobody
asked for in a browser (a webhook delivery, a task), by a `SystemActor` bound to one company.
Either way the company a service acts in is the actor's, never a second argument it trusts:
`acting_company_id(actor, company_id)` returns the company when the actor may act in it and
raises `NotFound` otherwise, the same error whether the company is another tenant's or missing,
so a caller learns nothing about what exists elsewhere.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404

from companies.models import Company

if TYPE_CHECKING:
    from accounts.models import User


class NotFound(Http404, ObjectDoesNotExist):
    """Not yours, or not there: one answer for both. A view that lets it through answers 404
    (it is an Http404); code that catches ObjectDoesNotExist catches it too."""

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


@dataclass(frozen=True)
class SystemActor:
    """The hub itself acting for one company: processing a webhook delivery or running a task.
    It is nobody's user, manages nothing, and acts only in its own company."""

    company_id: int
    reason: str = ""

    pk = None
    is_active = True
    is_super_admin = False
    is_company_admin = False
    is_agent = False
    is_system = True

    def manages_company(self, company_id: int) -> bool:
        return False

    def get_short_name(self) -> str:
        return "Service Hub"

    def __str__(self) -> str:
        return f"Service Hub ({self.reason})" if self.reason else "Service Hub"


def system_actor(company: Company | int, *, reason: str = "") -> SystemActor:
    """The actor for work done for `company` without a person behind it (say why in `reason`)."""
    return SystemActor(company_id=_company_id(company), reason=reason)


def _company_id(company: Company | int | None) -> int | None:
    if isinstance(company, Company):
        return company.pk
    if isinstance(company, bool) or not isinstance(company, int):
        return None
    return company


def acting_company_id(actor: "User | SystemActor", company: Company | int | None) -> int:
    """The id of `company` if `actor` may act in it: a system actor and a user of the company in
    their own, a platform admin in any that exists. NotFound for everything else (another
    tenant's company, a missing one, a deactivated user)."""
    company_id = _company_id(company)
    if company_id is None or actor is None or not actor.is_active:
        raise NotFound
    if getattr(actor, "is_system", False):
        if actor.company_id != company_id:
            raise NotFound
        return company_id
    if actor.is_super_admin:
        if not Company.objects.filter(pk=company_id).exists():
            raise NotFound
        return company_id
    if actor.company_id != company_id:
        raise NotFound
    return company_id


def managed_company_id(
    actor: "User | SystemActor", company: Company | int | None, *, refusal: str
) -> int:
    """`acting_company_id` for the changes only a company's admins (or platform admins) make:
    NotFound outside the actor's company, PermissionDenied(`refusal`) for others inside it."""
    company_id = acting_company_id(actor, company)
    if not actor.manages_company(company_id):
        raise PermissionDenied(refusal)
    return company_id


def require_platform_admin(actor: "User | SystemActor", *, refusal: str) -> None:
    """For the platform's own changes (companies, plans): super admins only."""
    if actor is None or not actor.is_active or not actor.is_super_admin:
        raise PermissionDenied(refusal)
