from django.urls import include, path

from inboxes import views, webhooks

app_name = "inboxes"

# company admins manage their inboxes under /company/inboxes/
manage_patterns = [
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

urlpatterns = [
    path("company/inboxes/", include(manage_patterns)),
    # providers post here (the address each inbox page shows)
    path("webhooks/<str:kind>/<str:public_key>/", webhooks.webhook, name="webhook"),
]
