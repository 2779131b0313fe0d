"""The tenant (Company) and the base every tenant-owned model inherits."""

from django.db import models
from django.db.models import Q
from django.db.models.expressions import Col
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND, WhereNode


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
    """Base of every tenant-owned table: a company_id on every row.

    In the database the primary key is `(company_id, id)` (see companies.schema): other tenant
    tables reference it by composite foreign keys, so a row can never point at another company's
    row, and Citus distributes the table by company. The ORM keeps `id` as the pk; saves and
    reloads carry company_id too, so on Citus they reach one shard.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)

    objects = CompanyOwnedQuerySet.as_manager()

    class Meta:
        abstract = True

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update, returning):  # noqa: ANN001, ANN202
        return super()._do_update(
            base_qs.filter(company_id=self.company_id),
            using,
            pk_val,
            values,
            update_fields,
            forced_update,
            returning,
        )

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:  # noqa: ANN001
        if from_queryset is None:
            from_queryset = self.__class__._base_manager.filter(company_id=self.company_id)
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)


class TenantForeignKey(models.ForeignKey):
    """A reference to another tenant table whose joins carry the company: `ON x.id = y.x_id AND
    x.company_id = y.company_id`, the co-located join Citus runs on one shard. No single-column
    constraint or index (the migration adds the composite key; indexes lead with company)."""

    def get_extra_restriction(
        self, alias: str | None, related_alias: str | None
    ) -> WhereNode | None:
        if alias is None or related_alias is None or not _is_tenant_model(self.related_model):
            return None
        remote_company = self.related_model._meta.get_field("company")
        local_company = self.model._meta.get_field("company")
        return WhereNode(
            [Exact(Col(alias, remote_company), Col(related_alias, local_company))],
            connector=AND,
        )

    def get_extra_descriptor_filter(self, instance: models.Model) -> dict:
        if not _is_tenant_model(self.related_model):
            return {}
        return {"company_id": instance.company_id}


def _is_tenant_model(model: type[models.Model]) -> bool:
    return isinstance(model, type) and issubclass(model, CompanyOwned)


def tenant_foreign_key(
    to: str, *, related_name: str = "+", optional: bool = False, **options: object
) -> models.ForeignKey:
    """A TenantForeignKey with this project's defaults (cascade, or set null when optional)."""
    if optional:
        options.setdefault("on_delete", models.SET_NULL)
        options.update(null=True, blank=True)
    options.setdefault("on_delete", models.CASCADE)
    return TenantForeignKey(
        to, db_constraint=False, db_index=False, related_name=related_name, **options
    )
