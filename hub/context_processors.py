"""The navigation of the signed-in user's role, for the layout."""

from django.http import HttpRequest
from django.urls import reverse

from accounts.models import Role


def navigation(request: HttpRequest) -> dict[str, list[dict[str, str]]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items: list[tuple[str, str, str]] = []
    if user.role == Role.AGENT:
        items = [
            ("Inbox", "conversations:inbox", "inbox"),
            ("Customers", "customers:list", "users"),
        ]
    elif user.role == Role.COMPANY_ADMIN:
        items = [
            ("Overview", "companies:overview", "chart"),
            ("Inbox", "conversations:inbox", "inbox"),
            ("Customers", "customers:list", "users"),
            ("Staff", "companies:staff", "users"),
            ("Inboxes", "inboxes:list", "inbox"),
            ("Settings", "companies:settings", "cog"),
        ]
    elif user.role == Role.SUPER_ADMIN:
        items = [
            ("System", "analytics:system-overview", "chart"),
            ("Django admin", "admin:index", "cog"),
        ]
    current = request.path
    nav = []
    for label, name, icon in items:
        url = reverse(name)
        nav.append({"label": label, "url": url, "icon": icon, "active": False})
    # the longest matching prefix is the current page (/company/ against /company/staff/)
    matches = [item for item in nav if current.startswith(item["url"])]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": nav}
