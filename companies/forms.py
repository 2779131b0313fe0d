from django import forms

from accounts.models import Role
from companies.models import Company


class StaffForm(forms.Form):
    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(
        choices=[(Role.AGENT, "Agent"), (Role.COMPANY_ADMIN, "Company admin")],
        initial=Role.AGENT,
    )


class StaffEditForm(StaffForm):
    email = None


class CompanyPlanForm(forms.Form):
    subscription_plan = forms.ChoiceField(choices=Company.Plan.choices, label="Plan")
    max_users = forms.IntegerField(min_value=1, max_value=100_000, label="User limit")
    max_channels = forms.IntegerField(min_value=0, max_value=10_000, label="Inbox limit")


class NewCompanyForm(CompanyPlanForm):
    name = forms.CharField(
        max_length=200,
        label="Company name",
        error_messages={"required": "Enter the company's name."},
    )
    slug = forms.SlugField(
        max_length=60, label="Short name", help_text="Letters, digits and dashes."
    )
    admin_email = forms.EmailField(label="First admin's email")
    admin_first_name = forms.CharField(max_length=150, label="First admin's first name")
    admin_last_name = forms.CharField(max_length=150, required=False, label="Last name")

    field_order = [
        "name",
        "slug",
        "subscription_plan",
        "max_users",
        "max_channels",
        "admin_email",
        "admin_first_name",
        "admin_last_name",
    ]


class CompanySettingsForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        label="Company name",
        error_messages={"required": "Enter the company's name."},
    )
    agents_see_all_conversations = forms.BooleanField(
        required=False,
        label="Agents can read every conversation",
        help_text="A colleague's conversation is read-only to them. Off: agents see only their "
        "own conversations and the unassigned queue.",
    )
