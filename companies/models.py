"""The tenant (Company) and the base every tenant-owned model inherits."""

from django.db import models
from django.db.models import Q


class Company(models.Model):
    """One customer of the platform; everything tenant-owned points at exactly one company."""

    class Plan(models.TextChoices):
        BASIC = "basic", "Basic"
        PRO = "pro", "Pro"
        ENTERPRISE = "enterprise", "Enterprise"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    subscription_plan = models.CharField(max_length=20, choices=Plan, default=Plan.BASIC)
    is_active = models.BooleanField(default=True)
    max_users = models.PositiveIntegerField(default=5)
    max_channels = models.PositiveIntegerField(default=3)
    # agents read every conversation of the company (a colleague's read-only); off: only their
    # own and the unassigned queue
    agents_see_all_conversations = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "companies"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_users__gte=1), name="company_max_users_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CompanyOwnedQuerySet(models.QuerySet):
    """Queries on tenant tables start from a company."""

    def for_company(self, company: Company | int) -> "CompanyOwnedQuerySet":
        return self.filter(company=company)


class CompanyOwned(models.Model):
    """Base of every tenant-owned table: a company_id on every row and a (company, id) key.

    The (company, id) key is what composite foreign keys from other tenant tables reference
    (see companies.schema), so a row can never point at another company's row.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)

    objects = CompanyOwnedQuerySet.as_manager()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["company", "id"], name="%(app_label)s_%(class)s_company_id_key"
            ),
        ]


def tenant_foreign_key(
    to: str, *, related_name: str = "+", optional: bool = False, **options: object
) -> models.ForeignKey:
    """A reference to another tenant table: no single-column constraint or index (the migration
    adds the composite `(company_id, x_id)` key, see companies.schema; indexes lead with company)."""
    if optional:
        options.setdefault("on_delete", models.SET_NULL)
        options.update(null=True, blank=True)
    options.setdefault("on_delete", models.CASCADE)
    return models.ForeignKey(
        to, db_constraint=False, db_index=False, related_name=related_name, **options
    )
