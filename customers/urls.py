from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_export, name="export"),
    path("new/", views.customer_create, name="create"),
    path("import/", views.customer_import, name="import"),
    path("<int:pk>/", views.customer_edit, name="edit"),
    path("<int:pk>/history/", views.customer_history, name="history"),
]
