"""Customers: agents read, company admins write; search by name or any identity; CSV export."""

import base64
import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render

from accounts.decorators import company_required, role_required
from accounts.models import Role
from conversations import selectors as conversation_selectors
from customers.forms import CustomerForm
from customers.importing import COLUMNS, MAX_BYTES, import_customers, read_customer_csv
from customers.models import Customer
from customers.selectors import customers_of, search_customers
from customers.services import save_customer
from hub.forms import add_service_errors
from hub.spreadsheet import protect

staff = role_required(Role.AGENT, Role.COMPANY_ADMIN)
company_admin = role_required(Role.COMPANY_ADMIN)
EXPORT_COLUMNS = (
    "name",
    "email",
    "phone",
    "whatsapp_number",
    "instagram_handle",
    "facebook_id",
    "is_vip",
)


def _filtered(request: HttpRequest):  # noqa: ANN202 - a queryset of Customer
    customers = search_customers(request.company, request.GET.get("q", ""))
    if request.GET.get("vip") == "1":
        customers = customers.filter(is_vip=True)
    return customers


def _page_query(request: HttpRequest) -> str:
    """The list's filter as a query string, for the page links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@staff
@company_required
def customer_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(_filtered(request), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/list.html",
        {
            "page": page,
            "q": request.GET.get("q", ""),
            "vip": request.GET.get("vip") == "1",
            "page_query": _page_query(request),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff
@company_required
def customer_export(request: HttpRequest) -> StreamingHttpResponse:
    """The current filter as CSV, streamed row by row (any size, constant memory); cells that a
    spreadsheet would run as a formula are written as text (hub.spreadsheet)."""
    writer = csv.writer(_Echo())
    rows = _filtered(request).values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000)

    def lines():  # noqa: ANN202
        yield writer.writerow(EXPORT_COLUMNS)
        for row in rows:
            yield writer.writerow(
                [
                    "yes" if value is True else "" if value is False else protect(str(value))
                    for value in row
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    return response


def _save(request: HttpRequest, customer: Customer | None) -> HttpResponse:
    initial = {f: getattr(customer, f) for f in CustomerForm.base_fields} if customer else {}
    form = CustomerForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = save_customer(
                request.user,
                company_id=request.company.pk,
                customer_id=customer.pk if customer else None,
                fields=form.cleaned_data,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Saved {saved.name}.")
            return redirect("customers:list")
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": customer},
        status=422 if form.errors else 200,
    )


@staff
@company_required
def customer_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer and every conversation with them the user may open, across channels,
    newest first, 25 a page."""
    customer = customers_of(request.company).filter(pk=pk).first()
    if customer is None:
        raise Http404("No such customer.")
    page = Paginator(
        conversation_selectors.customer_history(request.user, request.company, customer), 25
    ).get_page(request.GET.get("page"))
    return render(request, "customers/history.html", {"customer": customer, "page": page})


@company_admin
@company_required
def customer_create(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@company_admin
@company_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = customers_of(request.company).filter(pk=pk).first()
    if customer is None:
        raise Http404("No such customer.")
    return _save(request, customer)


IMPORT_SESSION_KEY = "customer_import_csv"


@company_admin
@company_required
def customer_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV, see every bad row with its line and reason, then import all or nothing."""
    preview = None
    if request.method == "POST" and "confirm" in request.POST:
        stored = request.session.get(IMPORT_SESSION_KEY)
        if not stored:
            messages.error(request, "Upload the file again: the preview has expired.")
            return redirect("customers:import")
        try:
            count = import_customers(
                request.user, company_id=request.company.pk, content=base64.b64decode(stored)
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages[:5]))
            return redirect("customers:import")
        del request.session[IMPORT_SESSION_KEY]
        messages.success(request, f"Imported {count:,} customers.")
        return redirect("customers:list")
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a CSV file to upload.")
            return redirect("customers:import")
        content = upload.read(MAX_BYTES + 1)  # one byte more, so an oversized file is reported
        preview = read_customer_csv(request.company.pk, content)
        if preview.is_valid:
            request.session[IMPORT_SESSION_KEY] = base64.b64encode(content).decode()
    return render(
        request,
        "customers/import.html",
        {"preview": preview, "columns": COLUMNS},
        status=422 if preview is not None and not preview.is_valid else 200,
    )
