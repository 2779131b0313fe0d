from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class HubConfig(AppConfig):
    default = True
    name = "hub"
    verbose_name = "Hub"


class HubAdminConfig(admin_apps.AdminConfig):
    """Django admin, open to super admins only."""

    default = False
    default_site = "hub.admin_site.HubAdminSite"
