from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.system_overview_view, name="system-overview"),
    path("companies/new/", views.company_create, name="company-create"),
    path("companies/<int:pk>/", views.company_edit, name="company-edit"),
    path("companies/<int:pk>/active/", views.company_set_active, name="company-active"),
]
