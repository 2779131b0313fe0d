"""Company admins connect and manage their inboxes (one per channel connection)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.decorators import company_required, role_required
from accounts.models import Role
from inboxes import selectors, services
from inboxes.channels import adapter_for_kind
from inboxes.forms import inbox_form
from inboxes.inbound import reprocess_delivery
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
    summaries = selectors.inbox_summaries(request.company)
    active = sum(1 for summary in summaries if summary.inbox.is_active)
    return render(
        request,
        "inboxes/list.html",
        {"summaries": summaries, "active_count": active, "channels": Channel.choices},
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


def _warn_if_unchecked(request: HttpRequest, inbox: Inbox) -> None:
    if inbox.unchecked_reason:
        messages.warning(
            request,
            f"The credentials were saved but not checked: {inbox.unchecked_reason} "
            "Save them again later to check them.",
        )


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
            _warn_if_unchecked(request, inbox)
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
            _warn_if_unchecked(request, saved)
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


def _log_query(params: dict[str, str], **changes: str) -> str:
    """The health page's query string with `changes` (a cursor of one log, a filter), keeping
    the other log where it is; empty values are left out."""
    kept = {name: params.get(name, "") for name in LOG_PARAMS}
    kept.update(changes)
    return urlencode({name: value for name, value in kept.items() if value})


LOG_PARAMS = ("show", "sends", "in_before", "in_after", "out_before", "out_after")


@company_admin
@company_required
def inbox_health(request: HttpRequest, pk: int) -> HttpResponse:
    """An inbox's health: what its deliveries and sends say, the webhook settings to paste, the
    delivery log (dead letters to reprocess) and the send log."""
    inbox = _inbox_or_404(request, pk)
    params = {name: request.GET.get(name, "")[:64] for name in LOG_PARAMS}
    show = params["show"] if params["show"] in selectors.DELIVERY_FILTERS else "all"
    failed_only = params["sends"] == "failed"
    deliveries = selectors.delivery_log(
        inbox, show=show, before=params["in_before"], after=params["in_after"]
    )
    sends = selectors.send_log(
        inbox, failed_only=failed_only, before=params["out_before"], after=params["out_after"]
    )

    def link(**changes: str) -> str:
        return "?" + _log_query(params, **changes)

    return render(
        request,
        "inboxes/health.html",
        {
            "inbox": inbox,
            "health": selectors.inbox_health(inbox),
            "webhook_url": _webhook_url(request, inbox),
            "shows_verify_token": adapter_for_kind(inbox.kind).uses_verify_token,
            "deliveries": deliveries,
            "sends": sends,
            "show": show,
            "failed_only": failed_only,
            "delivery_filters": [
                (
                    label,
                    link(show="" if name == "all" else name, in_before="", in_after=""),
                    name == show,
                )
                for name, label in (
                    ("all", "All"),
                    ("dead", "Dead letters"),
                    ("ignored", "Ignored"),
                    ("received", "Waiting"),
                )
            ],
            "send_filters": [
                ("All", link(sends="", out_before="", out_after=""), not failed_only),
                ("Failed", link(sends="failed", out_before="", out_after=""), failed_only),
            ],
            "deliveries_newer": link(in_after=deliveries.newer, in_before="")
            if deliveries.newer
            else "",
            "deliveries_older": link(in_before=deliveries.older, in_after="")
            if deliveries.older
            else "",
            "sends_newer": link(out_after=sends.newer, out_before="") if sends.newer else "",
            "sends_older": link(out_before=sends.older, out_after="") if sends.older else "",
        },
    )


@company_admin
@company_required
@require_POST
def delivery_reprocess(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    inbox = _inbox_or_404(request, pk)
    if not selectors.delivery_of(inbox, delivery_id):
        raise Http404("No such delivery.")
    try:
        reprocess_delivery(request.user, delivery_id=delivery_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request, "The delivery is queued to be processed again; its new state shows here."
        )
    return redirect(reverse("inboxes:health", args=[inbox.pk]) + "#deliveries")
