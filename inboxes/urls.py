from django.urls import path

from inboxes import views

app_name = "inboxes"

urlpatterns = [
    path("", views.inbox_list, name="list"),
    path("new/", views.inbox_create, name="create"),
    path("<int:pk>/", views.inbox_edit, name="edit"),
    path("<int:pk>/active/", views.inbox_set_active, name="active"),
    path("<int:pk>/health/", views.inbox_health, name="health"),
    path(
        "<int:pk>/deliveries/<int:delivery_id>/reprocess/",
        views.delivery_reprocess,
        name="delivery-reprocess",
    ),
]
