from django import forms

from accounts.models import Role
from companies.models import Company
from companies.plans import describe_plans, plan_limits


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
    """The plan and, only when this company needs other limits than its plan's, the override."""

    subscription_plan = forms.ChoiceField(choices=Company.Plan.choices, label="Plan")
    max_users = forms.IntegerField(
        min_value=1, max_value=100_000, required=False, label="User limit"
    )
    max_channels = forms.IntegerField(
        min_value=0, max_value=10_000, required=False, label="Inbox limit"
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subscription_plan"].help_text = f"Each plan's limits: {describe_plans()}."
        for name in ("max_users", "max_channels"):
            self.fields[name].help_text = "Leave blank for the plan's limit."

    @classmethod
    def initial_for(cls, company: Company) -> dict[str, object]:
        """The company's plan, and its limits only where they differ from the plan's."""
        defaults = plan_limits(company.subscription_plan)
        return {
            "subscription_plan": company.subscription_plan,
            "max_users": None if company.max_users == defaults.max_users else company.max_users,
            "max_channels": (
                None if company.max_channels == defaults.max_channels else company.max_channels
            ),
        }


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
