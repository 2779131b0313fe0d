from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from companies.models import Company


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "subscription_plan",
        "is_active",
        "user_count",
        "max_users",
        "max_channels",
        "created_at",
    )
    list_filter = ("subscription_plan", "is_active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Company]:
        return super().get_queryset(request).annotate(user_count=Count("users"))

    @admin.display(description="Users", ordering="user_count")
    def user_count(self, company: Company) -> int:
        return company.user_count
