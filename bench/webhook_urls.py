"""The hub's URLs and one more for the benchmark: a bare Django view that stores the request body
with one INSERT and answers 200, with no lookup, signature or task: the ceiling the webhook view is
measured against (same server, same middleware)."""

import os

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from hub.urls import handler400, handler403, handler404, handler500  # noqa: F401
from hub.urls import urlpatterns as hub_urlpatterns
from inboxes.models import WebhookDelivery

COMPANY_ID = int(os.environ.get("BENCH_COMPANY_ID", "0"))
INBOX_ID = int(os.environ.get("BENCH_INBOX_ID", "0"))


@csrf_exempt
def bare_insert(request: HttpRequest) -> HttpResponse:
    WebhookDelivery.objects.create(
        company_id=COMPANY_ID,
        inbox_id=INBOX_ID,
        received_at=timezone.now(),
        content_type=request.META.get("CONTENT_TYPE", "")[:200],
        body=request.body,
        state=WebhookDelivery.State.IGNORED,
        reason="bench: bare insert",
    )
    return HttpResponse("OK", content_type="text/plain")


urlpatterns = [*hub_urlpatterns, path("bench/bare-insert/", bare_insert)]
