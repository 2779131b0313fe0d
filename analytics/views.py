from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from accounts.models import Role
from accounts.services import send_invitation
from analytics.selectors import all_companies, company_usage, system_overview
from companies import services
from companies.forms import CompanyPlanForm, NewCompanyForm
from hub.forms import add_service_errors


@role_required(Role.SUPER_ADMIN)
def system_overview_view(request: HttpRequest) -> HttpResponse:
    """The super admin's home: platform totals and each company's usage against its limits."""
    return render(
        request,
        "analytics/system_overview.html",
        {"overview": system_overview(), "usage": company_usage()},
    )


@role_required(Role.SUPER_ADMIN)
def company_create(request: HttpRequest) -> HttpResponse:
    """A new company and its first admin, who gets a link to choose a password."""
    form = NewCompanyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            company, admin = services.create_company_with_admin(request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            send_invitation(
                request.user,
                company=company,
                user_id=admin.pk,
                base_url=request.build_absolute_uri("/"),
            )
            messages.success(
                request, f"{company.name} was created; {admin.email} was emailed a link to sign in."
            )
            return redirect("analytics:system-overview")
    return render(
        request, "analytics/company_form.html", {"form": form}, status=422 if form.errors else 200
    )


@role_required(Role.SUPER_ADMIN)
def company_edit(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(all_companies(), pk=pk)
    form = CompanyPlanForm(request.POST or None, initial=CompanyPlanForm.initial_for(company))
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.update_company_plan(
                request.user, company_id=company.pk, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                f"Saved {saved.name}: {saved.get_subscription_plan_display()} plan, "
                f"{saved.max_users} users, {saved.max_channels} inboxes.",
            )
            return redirect("analytics:system-overview")
    return render(
        request,
        "analytics/company_form.html",
        {"form": form, "company": company},
        status=422 if form.errors else 200,
    )


@role_required(Role.SUPER_ADMIN)
@require_POST
def company_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(all_companies(), pk=pk)
    activate = request.POST.get("active") == "1"
    services.set_company_active(request.user, company_id=company.pk, is_active=activate)
    if activate:
        messages.success(request, f"{company.name} was reactivated.")
    else:
        messages.success(
            request,
            f"{company.name} was deactivated: its users are signed out and its webhooks refuse.",
        )
    return redirect("analytics:system-overview")
