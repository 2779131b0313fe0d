"""Company admins connect and manage their inboxes (one per channel connection)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.decorators import company_required, role_required
from accounts.models import Role
from inboxes import services
from inboxes.channels import adapter_for_kind
from inboxes.forms import inbox_form
from inboxes.models import Channel, Inbox
from inboxes.selectors import inboxes_of

company_admin = role_required(Role.COMPANY_ADMIN)


def _inbox_or_404(request: HttpRequest, pk: int) -> Inbox:
    inbox = inboxes_of(request.company).filter(pk=pk).first()
    if inbox is None:
        raise Http404("No such inbox.")
    return inbox


def _webhook_url(request: HttpRequest, inbox: Inbox) -> str:
    return request.build_absolute_uri(
        reverse("inboxes:webhook", kwargs={"kind": inbox.kind, "public_key": inbox.public_key})
    )


@company_admin
@company_required
def inbox_list(request: HttpRequest) -> HttpResponse:
    inboxes = list(inboxes_of(request.company))
    active = sum(1 for inbox in inboxes if inbox.is_active)
    return render(
        request,
        "inboxes/list.html",
        {"inboxes": inboxes, "active_count": active, "channels": Channel.choices},
    )


def _form_context(request: HttpRequest, kind: str, inbox: Inbox | None, errors: dict) -> dict:
    submitted = request.POST if request.method == "POST" else {}
    fields = []
    for field in adapter_for_kind(kind).credential_fields:
        stored = bool(inbox and inbox.credentials.get(field.name))
        value = (
            ""
            if field.is_secret
            else submitted.get(field.name, inbox.credentials.get(field.name, "") if inbox else "")
        )
        fields.append(
            {"field": field, "value": value, "stored": stored, "errors": errors.get(field.name, [])}
        )
    return {
        "kind": kind,
        "kind_label": Channel(kind).label,
        "inbox": inbox,
        "name": submitted.get("name", inbox.name if inbox else ""),
        "name_errors": errors.get("name", []),
        "form_errors": errors.get("__all__", []),
        "fields": fields,
        "webhook_url": _webhook_url(request, inbox) if inbox else "",
        "shows_verify_token": adapter_for_kind(kind).uses_verify_token,
    }


def _errors(error: ValidationError) -> dict:
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


@sensitive_post_parameters()  # every field: the secrets stay out of error reports
@company_admin
@company_required
def inbox_create(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") or request.POST.get("kind", "")
    if kind not in Channel.values:
        return render(request, "inboxes/choose.html", {"channels": Channel.choices})
    errors: dict = {}
    form = inbox_form(kind)(request.POST or None)
    if request.method == "POST" and not form.is_valid():
        errors = form.errors
    elif request.method == "POST":
        try:
            inbox = services.create_inbox(
                request.user,
                company=request.company,
                kind=kind,
                name=form.cleaned_data["name"],
                credentials=form.cleaned_data,
            )
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(
                request, f"{inbox.name} is connected. Paste its webhook address into the provider."
            )
            return redirect("inboxes:edit", pk=inbox.pk)
    return render(
        request,
        "inboxes/form.html",
        _form_context(request, kind, None, errors),
        status=422 if errors else 200,
    )


@sensitive_post_parameters()
@company_admin
@company_required
def inbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    inbox = _inbox_or_404(request, pk)
    errors: dict = {}
    form = inbox_form(inbox.kind)(request.POST or None)
    if request.method == "POST" and not form.is_valid():
        errors = form.errors
    elif request.method == "POST":
        try:
            saved = services.update_inbox(
                request.user,
                company=request.company,
                inbox_id=inbox.pk,
                name=form.cleaned_data["name"],
                credentials=form.cleaned_data,
            )
        except ValidationError as error:
            errors = _errors(error)
        else:
            messages.success(request, f"Saved {saved.name}.")
            return redirect("inboxes:list")
    return render(
        request,
        "inboxes/form.html",
        _form_context(request, inbox.kind, inbox, errors),
        status=422 if errors else 200,
    )


@company_admin
@company_required
@require_POST
def inbox_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    inbox = _inbox_or_404(request, pk)
    activate = request.POST.get("active") == "1"
    try:
        services.set_inbox_active(
            request.user, company=request.company, inbox_id=inbox.pk, is_active=activate
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        state = "reactivated" if activate else "deactivated; its webhooks now refuse deliveries"
        messages.success(request, f"{inbox.name} was {state}.")
    return redirect("inboxes:list")
