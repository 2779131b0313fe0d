from django import forms

from accounts.models import Role


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
