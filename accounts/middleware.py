"""Ends a session that can no longer sign anyone in, and tells the sign-in page why.

A session stops working when its user or their company is deactivated, when the user's password
changes, or when their sessions are ended (accounts.models.UserQuerySet.end_sessions). Django then
treats the browser as signed out; this middleware also flushes what is left of that session (so a
reactivation never brings it back) and leaves the reason for the sign-in page.
"""

from collections.abc import Callable

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

from accounts.models import User

SIGNED_OUT_REASON_KEY = "signed_out_reason"
SIGNED_OUT_MESSAGES = {
    "inactive": "You were signed out because your account was deactivated. "
    "Ask your company admin to reactivate it.",
    "company_inactive": "You were signed out because your company's account was deactivated. "
    "Contact the platform administrator.",
    "ended": "You were signed out because your password was changed or an admin ended your "
    "session. Sign in again.",
}


def _reason(user_id: object) -> str:
    user = User.objects.select_related("company").filter(pk=user_id).first()
    if user is not None and not user.is_active:
        return "inactive"
    if user is not None and user.company is not None and not user.company.is_active:
        return "company_inactive"
    return "ended"


def pop_signed_out_message(request: HttpRequest) -> str:
    """The reason this browser was signed out, once (empty when there is none)."""
    return SIGNED_OUT_MESSAGES.get(request.session.pop(SIGNED_OUT_REASON_KEY, ""), "")


class EndedSessionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user_id = request.session.get(SESSION_KEY)
        if user_id is not None and not request.user.is_authenticated:
            reason = _reason(user_id)
            request.session.flush()
            request.session[SIGNED_OUT_REASON_KEY] = reason
        return self.get_response(request)
