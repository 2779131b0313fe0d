"""Landing, per-role home, health check and error pages."""

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.cache import patch_vary_headers
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


# What an error answer says. A reason given where the error was raised (Http404("..."),
# PermissionDenied("..."), BadRequest("...")) is shown instead of the default, so the person
# knows what happened and what to do next.
DEFAULT_REASONS = {
    400: "The request had a value the hub could not use. Reload the page and try again.",
    403: "Your role does not include this page. If you think it should, ask your company admin.",
    404: "The page you asked for does not exist, or it belongs to another workspace.",
    500: "Something went wrong on our side. Try again in a moment.",
}


def _reason(exception: Exception | None, status: int) -> str:
    """The readable reason an exception was raised with (not a resolver's technical detail)."""
    args = getattr(exception, "args", ())
    if args and isinstance(args[0], str) and args[0].strip():
        return args[0]
    return DEFAULT_REASONS[status]


def _is_htmx(request: HttpRequest) -> bool:
    # the header itself: an error may come before (or without) the htmx middleware
    return request.headers.get("HX-Request") == "true"


def error_response(request: HttpRequest, status: int, reason: str) -> HttpResponse:
    """HTMX requests get the reason as plain text, which static/js/app.js shows in its alert
    region (the page and the draft stay as they are); a page load gets the error page."""
    if _is_htmx(request):
        response = HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")
    else:
        response = render(request, f"{status}.html", {"detail": reason}, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 400, _reason(exception, 400))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 403, _reason(exception, 403))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, 404, _reason(exception, 404))


def server_error(request: HttpRequest) -> HttpResponse:
    # no context processors: the database may be what failed
    from django.template import loader

    if _is_htmx(request):
        response = HttpResponse(
            DEFAULT_REASONS[500], status=500, content_type="text/plain; charset=utf-8"
        )
    else:
        response = HttpResponse(loader.get_template("500.html").render(), status=500)
    patch_vary_headers(response, ("HX-Request",))
    return response
