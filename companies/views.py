"""The company admin's pages: overview and staff."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import services as staff
from accounts.decorators import company_required, role_required
from accounts.models import Role, User
from companies.forms import CompanySettingsForm, StaffEditForm, StaffForm
from companies.selectors import active_user_count, company_overview, staff_of
from companies.services import update_company_settings
from hub.forms import add_service_errors

company_admin = role_required(Role.COMPANY_ADMIN)


@company_admin
@company_required
def overview(request: HttpRequest) -> HttpResponse:
    """The company admin's home: what the company has and how busy it is."""
    return render(
        request, "companies/overview.html", {"overview": company_overview(request.company)}
    )


@company_admin
@company_required
def staff_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(staff_of(request.company), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "companies/staff_list.html",
        {"page": page, "active_count": active_user_count(request.company)},
    )


@company_admin
@company_required
def staff_create(request: HttpRequest) -> HttpResponse:
    form = StaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff.create_staff_member(
                request.user, company=request.company, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            staff.send_invitation(
                request.user,
                company=request.company,
                user_id=user.pk,
                base_url=request.build_absolute_uri("/"),
            )
            messages.success(request, f"{user.email} was added and emailed a link to sign in.")
            return redirect("companies:staff")
    return render(
        request,
        "companies/staff_form.html",
        {"form": form, "active_count": active_user_count(request.company)},
        status=422 if form.errors else 200,
    )


def _member_or_404(request: HttpRequest, user_id: int) -> User:
    member = staff_of(request.company).filter(pk=user_id).first()
    if member is None:
        raise Http404("No such staff member.")
    return member


@company_admin
@company_required
def staff_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    member = _member_or_404(request, user_id)
    initial = {"first_name": member.first_name, "last_name": member.last_name, "role": member.role}
    form = StaffEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            staff.update_staff_member(
                request.user, company=request.company, user_id=member.pk, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved {member.email}.")
            return redirect("companies:staff")
    return render(
        request,
        "companies/staff_form.html",
        {"form": form, "member": member},
        status=422 if form.errors else 200,
    )


@company_admin
@company_required
@require_POST
def staff_set_active(request: HttpRequest, user_id: int) -> HttpResponse:
    member = _member_or_404(request, user_id)
    activate = request.POST.get("active") == "1"
    try:
        staff.set_staff_member_active(
            request.user, company=request.company, user_id=member.pk, is_active=activate
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        verb = "reactivated" if activate else "deactivated; their open sessions have ended"
        messages.success(request, f"{member.email} was {verb}.")
    return redirect("companies:staff")


@company_admin
@company_required
@require_POST
def staff_send_link(request: HttpRequest, user_id: int) -> HttpResponse:
    """Email the invitation again to someone who has never signed in (the link is not shown)."""
    member = _member_or_404(request, user_id)
    try:
        staff.send_invitation(
            request.user,
            company=request.company,
            user_id=member.pk,
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Emailed {member.email} a new link to sign in.")
    return redirect("companies:staff")


@company_admin
@company_required
@require_POST
def staff_reset_password(request: HttpRequest, user_id: int) -> HttpResponse:
    """Sign someone out everywhere and email them a link to choose a new password."""
    member = _member_or_404(request, user_id)
    try:
        staff.reset_staff_password(
            request.user,
            company=request.company,
            user_id=member.pk,
            base_url=request.build_absolute_uri("/"),
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            f"{member.email} was signed out and emailed a link to choose a new password.",
        )
    return redirect("companies:staff")


@company_admin
@company_required
def settings_view(request: HttpRequest) -> HttpResponse:
    """The company's name and who reads which conversations; its plan, limits and usage
    (read-only: the platform sets them)."""
    company = request.company
    form = CompanySettingsForm(
        request.POST or None,
        initial={
            "name": company.name,
            "agents_see_all_conversations": company.agents_see_all_conversations,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_company_settings(request.user, company=company, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Company settings saved.")
            return redirect("companies:settings")
    return render(
        request,
        "companies/settings.html",
        {"overview": company_overview(company), "form": form},
        status=422 if form.errors else 200,
    )
