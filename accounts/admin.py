from django import forms
from django.contrib import admin
from django.contrib.auth.forms import AdminPasswordChangeForm, ReadOnlyPasswordHashField
from django.contrib.auth.models import Group

from accounts.models import User


class UserCreationAdminForm(forms.ModelForm):
    password = forms.CharField(widget=forms.PasswordInput, help_text="The user's first password.")

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name", "role", "company", "is_active")

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password"])
        if commit:
            user.save()
        return user


class UserChangeAdminForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(
        help_text="Passwords are not stored in clear; use the change-password form."
    )

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
class UserAdmin(admin.ModelAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = AdminPasswordChangeForm
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
    readonly_fields = ("last_login", "created_at", "updated_at", "password")
    autocomplete_fields = ("company",)
    ordering = ("email",)

    def get_form(self, request, obj=None, **kwargs):  # noqa: ANN001, ANN201 - Django's signature
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):  # noqa: ANN001, ANN201
        return () if obj is None else self.readonly_fields


# Roles replace Django's groups and permissions here.
admin.site.unregister(Group)
