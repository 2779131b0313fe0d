"""Users in Django admin, on Django's own UserAdmin: its add form (password or none) and its
"Set password" page, which signs the person out of every browser."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.http import HttpRequest

from accounts.models import User


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "company")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("Someone already signs in with this email.")
        return email


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = (
            "email",
            "password",
            "first_name",
            "last_name",
            "role",
            "company",
            "profile_image_url",
            "oidc_issuer",
            "oidc_subject",
            "is_active",
        )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "profile_image_url")}),
        ("Role", {"fields": ("role", "company", "is_active")}),
        ("Single sign-on", {"fields": ("oidc_issuer", "oidc_subject")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "first_name",
                    "last_name",
                    "role",
                    "company",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    list_display = (
        "email",
        "first_name",
        "last_name",
        "role",
        "company",
        "is_active",
        "last_login",
    )
    list_filter = ("role", "is_active", "company")
    search_fields = ("email", "first_name", "last_name", "company__name")
    list_select_related = ("company",)
    readonly_fields = ("last_login", "created_at", "updated_at")
    autocomplete_fields = ("company",)
    ordering = ("email",)
    filter_horizontal = ()

    def save_model(self, request: HttpRequest, obj: User, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            User.objects.filter(pk=obj.pk).end_sessions()


# Roles replace Django's groups and permissions here.
admin.site.unregister(Group)
