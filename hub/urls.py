from django.contrib import admin
from django.urls import include, path

from accounts.views import SetPasswordView
from hub import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("home/", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/set-password/<uidb64>/<token>/", SetPasswordView.as_view(), name="set-password"),
    path("inbox/", include("conversations.urls")),
    path("", include("inboxes.urls")),  # /company/inboxes/... and /webhooks/...
    path("customers/", include("customers.urls")),
    path("company/", include("companies.urls")),
    path("system/", include("analytics.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "hub.views.bad_request"
handler403 = "hub.views.permission_denied"
handler404 = "hub.views.page_not_found"
handler500 = "hub.views.server_error"
