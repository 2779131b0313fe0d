"""Landing, per-role home, health check and error pages."""

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Role

HOME_BY_ROLE = {
    Role.SUPER_ADMIN: "analytics:system-overview",
    Role.COMPANY_ADMIN: "companies:overview",
    Role.AGENT: "conversations:inbox",
}


def landing(request: HttpRequest) -> HttpResponse:
    """The public front page; signed-in users go straight to their home."""
    if request.user.is_authenticated:
        return redirect("home")
    return render(request, "hub/landing.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role starts somewhere else: agents in the inbox, admins on an overview."""
    return redirect(HOME_BY_ROLE[request.user.role])


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, 503 when it does not (for load balancers and monitors)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        connection.close()
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (Django admin, files)."""
    return HttpResponsePermanentRedirect(static("favicon.ico"))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # no context processors: the database may be what failed
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)
