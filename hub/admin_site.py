"""The Django admin site, for super admins only; everyone else is sent to sign in or refused."""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class HubAdminSite(admin.AdminSite):
    site_header = "Customer Service Hub administration"
    site_title = "Hub admin"
    index_title = "Platform"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return user.is_active and user.is_authenticated and user.is_super_admin

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Sign-in happens on the hub's own page; a signed-in non-super-admin is refused."""
        if request.user.is_authenticated:
            if self.has_permission(request):
                return super().login(request, extra_context)
            raise PermissionDenied("Django admin is for super admins only.")
        return redirect_to_login(request.GET.get("next", request.path.replace("login/", "")))
