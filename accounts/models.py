"""Users: email sign-in, one role, and a company unless they run the platform."""

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Now
from django.utils.crypto import salted_hmac

from companies.models import Company


class Role(models.TextChoices):
    SUPER_ADMIN = "super_admin", "Super admin"
    COMPANY_ADMIN = "company_admin", "Company admin"
    AGENT = "agent", "Agent"


class UserQuerySet(models.QuerySet):
    def for_company(self, company: Company | int) -> "UserQuerySet":
        return self.filter(company=company)

    def end_sessions(self) -> int:
        """Sign these users out of every browser for good: their session hash changes, so the
        old session cookies stop working at their next request and never work again, not even
        after a reactivation."""
        return self.update(session_version=F("session_version") + 1, updated_at=Now())


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    """Creates users with a lower-cased email; lookups by email ignore case."""

    use_in_migrations = True

    def get_by_natural_key(self, username: str) -> "User":
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields["role"] = Role.SUPER_ADMIN
        fields["company"] = None
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser):
    """A person who signs in. The table is global (super admins have no company)."""

    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, choices=Role, default=Role.AGENT)
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    profile_image_url = models.URLField(max_length=500, blank=True)
    oidc_issuer = models.CharField(max_length=255, blank=True)
    oidc_subject = models.CharField(max_length=255, blank=True)
    is_active = models.BooleanField(default=True)
    # part of the session hash: raising it ends every session of the user (see end_sessions)
    session_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            # lets tenant tables reference a user of their own company: (company_id, id)
            models.UniqueConstraint(fields=["company", "id"], name="accounts_user_company_id_key"),
            models.UniqueConstraint(
                fields=["oidc_issuer", "oidc_subject"],
                condition=~Q(oidc_subject=""),
                name="user_oidc_subject_unique",
            ),
            models.CheckConstraint(
                condition=(Q(role=Role.SUPER_ADMIN) & Q(company__isnull=True))
                | (~Q(role=Role.SUPER_ADMIN) & Q(company__isnull=False)),
                name="user_company_required_unless_super_admin",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
        ]
        indexes = [
            # staff list of a company: WHERE company_id = ? ORDER BY email
            models.Index(fields=["company", "email", "id"], name="user_company_email_idx"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_session_auth_hash(self) -> str:
        return self._session_hash(secret=None)

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=secret)

    def _session_hash(self, secret: str | None) -> str:
        """Django's HMAC of the password hash, plus the session version once it was raised (so
        sessions made before the version existed stay valid until it is)."""
        material = self.password
        if self.session_version:
            material = f"{material}:{self.session_version}"
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            material,
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @property
    def is_super_admin(self) -> bool:
        return self.role == Role.SUPER_ADMIN

    @property
    def is_company_admin(self) -> bool:
        return self.role == Role.COMPANY_ADMIN

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    def manages_company(self, company_id: int) -> bool:
        """Platform admins manage every company; a company admin manages their own."""
        return self.is_active and (
            self.is_super_admin or (self.is_company_admin and self.company_id == company_id)
        )

    # Django admin asks these; only super admins run the platform there.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_super_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list: list[str], obj: object = None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff
