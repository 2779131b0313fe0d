"""Sets `request.company`: the tenant every view of this request acts in."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject

from companies.models import Company

ACTING_COMPANY_SESSION_KEY = "acting_company_id"


def company_for(request: HttpRequest) -> Company | None:
    """The user's own company; for a super admin, the company they chose to act in, if any."""
    user = request.user
    if not user.is_authenticated:
        return None
    if user.is_super_admin:
        company_id = request.session.get(ACTING_COMPANY_SESSION_KEY)
        if company_id is None:
            return None
        return Company.objects.filter(pk=company_id, is_active=True).first()
    return user.company


class CompanyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.company = SimpleLazyObject(lambda: company_for(request))
        return self.get_response(request)


class VaryOnHtmxMiddleware:
    """Every view may answer an HTMX request differently from a page load (a partial instead of
    the page, `HX-Redirect` instead of a redirect to sign in, an error as plain text), so every
    response says it varies by `HX-Request`, as django-htmx advises; a cache never serves one
    for the other. Views that also branch on `HX-Target` add it themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        return response
