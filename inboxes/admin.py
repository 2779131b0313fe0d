from django.contrib import admin

from inboxes.models import Inbox


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "kind", "is_active", "created_at")
    list_filter = ("kind", "is_active", "company")
    search_fields = ("name", "company__name")
    list_select_related = ("company",)
    autocomplete_fields = ("company",)
    # secrets are write-only: never rendered back in admin either
    exclude = ("credentials",)
    readonly_fields = ("webhook_key", "created_at", "updated_at")
