from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.models import User
from companies.models import Company
from companies.services import check_limits_cover_usage


class CompanyAdminForm(forms.ModelForm):
    """Limits are never set below what the company already uses (as on the hub's plan page)."""

    class Meta:
        model = Company
        fields = ("name", "slug", "subscription_plan", "is_active", "max_users", "max_channels")

    def clean(self) -> dict:
        cleaned = super().clean()
        max_users, max_channels = cleaned.get("max_users"), cleaned.get("max_channels")
        if self.instance.pk and max_users is not None and max_channels is not None:
            try:
                check_limits_cover_usage(
                    self.instance, max_users=max_users, max_channels=max_channels
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field, messages)
        return cleaned


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    form = CompanyAdminForm
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

    def save_model(
        self, request: HttpRequest, obj: Company, form: forms.Form, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            User.objects.for_company(obj).end_sessions()  # as set_company_active does
