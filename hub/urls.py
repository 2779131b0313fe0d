from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from hub import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("home/", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/set_password.html",
            success_url=reverse_lazy("accounts:login"),
            post_reset_login=False,
        ),
        name="set-password",
    ),
    path("inbox/", include("conversations.urls")),
    path("company/inboxes/", include("inboxes.urls")),
    path("customers/", include("customers.urls")),
    path("company/", include("companies.urls")),
    path("system/", include("analytics.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "hub.views.bad_request"
handler403 = "hub.views.permission_denied"
handler404 = "hub.views.page_not_found"
handler500 = "hub.views.server_error"
