"""Changes to a company by its own admins (plan and limits belong to the platform's admins)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import User
from companies.models import Company


def rename_company(actor: User, *, company: Company, name: str) -> Company:
    if not (actor.is_super_admin or (actor.is_company_admin and actor.company_id == company.pk)):
        raise PermissionDenied("Only this company's admins rename it.")
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Enter the company's name."})
    if len(name) > Company._meta.get_field("name").max_length:
        raise ValidationError({"name": "Keep the name under 200 characters."})
    with transaction.atomic():
        company = Company.objects.select_for_update().get(pk=company.pk)
        company.name = name
        company.save(update_fields=["name", "updated_at"])
    return company
