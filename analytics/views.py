from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import role_required
from accounts.models import Role
from analytics.selectors import company_usage, system_overview


@role_required(Role.SUPER_ADMIN)
def system_overview_view(request: HttpRequest) -> HttpResponse:
    """The super admin's home: platform totals and each company's usage against its limits."""
    return render(
        request,
        "analytics/system_overview.html",
        {"overview": system_overview(), "usage": company_usage()},
    )
