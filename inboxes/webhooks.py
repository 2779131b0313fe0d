"""The one address every provider posts to: `/webhooks/<kind>/<public key>/`. It stays cheap (one
lookup, one INSERT): a verified delivery is stored raw and answered at once; a task parses it."""

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from inboxes.channels import WebhookRefused, adapter_for_kind
from inboxes.channels.registry import ADAPTERS
from inboxes.models import Inbox, WebhookDelivery


def _text(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain")


def _inbox(kind: str, public_key: str) -> Inbox | None:
    """The inbox of `<company id>-<webhook key>`, with its company's is_active: one query on the
    (company, webhook_key) key."""
    company_id, _, webhook_key = public_key.partition("-")
    if (
        kind not in ADAPTERS
        or not company_id.isascii()
        or not company_id.isdigit()
        or len(company_id) > 18
        or not webhook_key
        or len(webhook_key) > 64
        or "\x00" in webhook_key
    ):
        return None
    return (
        Inbox.objects.filter(company_id=int(company_id), webhook_key=webhook_key, kind=kind)
        .select_related("company")
        .only(
            "id",
            "company_id",
            "kind",
            "is_active",
            "credentials",
            "verify_token",
            "company__is_active",
        )
        .first()
    )


def _read_body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over WEBHOOK_MAX_BYTES (read no further than that)."""
    limit = settings.WEBHOOK_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _enqueue(company_id: int, delivery_id: int) -> None:
    from inboxes.tasks import process_delivery

    process_delivery.enqueue(company_id=company_id, delivery_id=delivery_id)


@csrf_exempt
def webhook(request: HttpRequest, kind: str, public_key: str) -> HttpResponse:
    inbox = _inbox(kind, public_key)
    if inbox is None:
        return _text("No inbox has this webhook address.", 404)
    if not inbox.is_active or not inbox.company.is_active:
        return _text("This inbox is deactivated; it no longer receives deliveries.", 410)
    adapter = adapter_for_kind(kind)
    if request.method in ("GET", "HEAD"):
        return adapter.handshake(inbox, request)
    if request.method != "POST":
        response = _text("Providers POST deliveries here.", 405)
        response["Allow"] = "GET, POST"
        return response
    body = _read_body(request)
    if body is None:
        return _text(f"The body is over the {settings.WEBHOOK_MAX_BYTES:,}-byte limit.", 413)
    try:
        adapter.verify(inbox, request, body)
    except WebhookRefused as refused:
        return _text(str(refused), refused.status)
    delivery = WebhookDelivery.objects.create(
        company_id=inbox.company_id,
        inbox_id=inbox.pk,
        received_at=timezone.now(),
        content_type=request.META.get("CONTENT_TYPE", "")[:200],
        body=body,
    )
    # in autocommit the INSERT is committed already: this runs at once (in a test's
    # transaction, at its end)
    transaction.on_commit(lambda: _enqueue(inbox.company_id, delivery.pk))
    return adapter.acknowledge(inbox, request, body)
