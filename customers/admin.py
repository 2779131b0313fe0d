from django.contrib import admin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "company", "email", "phone", "whatsapp_number", "is_vip", "created_at")
    list_filter = ("is_vip", "company")
    search_fields = ("name", "email", "phone", "whatsapp_number", "instagram_handle", "facebook_id")
    list_select_related = ("company",)
    autocomplete_fields = ("company",)
