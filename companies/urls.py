from django.urls import path

from companies import views

app_name = "companies"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("settings/", views.settings_view, name="settings"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/new/", views.staff_create, name="staff-create"),
    path("staff/<int:user_id>/", views.staff_edit, name="staff-edit"),
    path("staff/<int:user_id>/active/", views.staff_set_active, name="staff-active"),
    path("staff/<int:user_id>/link/", views.staff_send_link, name="staff-link"),
    path("staff/<int:user_id>/reset/", views.staff_reset_password, name="staff-reset"),
]
