from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import company_required, role_required
from accounts.models import Role
from conversations.selectors import recent_conversations


@role_required(Role.AGENT, Role.COMPANY_ADMIN)
@company_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The agent's home. The full three-pane inbox replaces this list (issue #3)."""
    return render(
        request,
        "conversations/inbox.html",
        {"conversations": recent_conversations(request.user, request.company)},
    )
