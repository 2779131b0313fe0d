from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import company_required, role_required
from accounts.models import Role
from companies.selectors import company_overview


@role_required(Role.COMPANY_ADMIN)
@company_required
def overview(request: HttpRequest) -> HttpResponse:
    """The company admin's home: what the company has and how busy it is."""
    return render(
        request,
        "companies/overview.html",
        {"overview": company_overview(request.company)},
    )
