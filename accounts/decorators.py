"""Role checks for views: anonymous visitors go to sign-in, the wrong role gets 403."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Role

View = Callable[..., HttpResponse]


def role_required(*roles: Role) -> Callable[[View], View]:
    """Let only signed-in users with one of `roles` through.

    An HTMX request from a signed-out browser gets `HX-Redirect` to the sign-in page, so a poll never
    swaps a sign-in form into a partial.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            if not request.user.is_authenticated:
                if getattr(request, "htmx", False):
                    login_url = resolve_url(settings.LOGIN_URL)
                    return HttpResponseClientRedirect(f"{login_url}?next={request.path}")
                return redirect_to_login(request.get_full_path())
            if request.user.role not in roles:
                raise PermissionDenied("Your role does not give access to this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def company_required(view: View) -> View:
    """For views that act inside one company: the request must have one (404 otherwise)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.company is None:
            raise PermissionDenied("Choose a company to act in first.")
        return view(request, *args, **kwargs)

    return wrapper
