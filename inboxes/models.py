"""Inboxes: one company's connection to one channel (a WhatsApp number, a page, a mailbox...)."""

import secrets

from django.db import models

from companies.models import CompanyOwned


class Channel(models.TextChoices):
    WHATSAPP = "whatsapp", "WhatsApp"
    FACEBOOK = "facebook", "Facebook Messenger"
    INSTAGRAM = "instagram", "Instagram"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone / SMS"


def new_webhook_key() -> str:
    return secrets.token_urlsafe(24)


def new_verify_token() -> str:
    return secrets.token_urlsafe(18)


class Inbox(CompanyOwned):
    kind = models.CharField(max_length=20, choices=Channel)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    # secrets (tokens, passwords): write-only in every form, never rendered back
    credentials = models.JSONField(default=dict, blank=True)
    webhook_key = models.CharField(max_length=64, default=new_webhook_key, editable=False)
    verify_token = models.CharField(max_length=64, default=new_verify_token)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(CompanyOwned.Meta):
        ordering = ["name", "id"]
        verbose_name_plural = "inboxes"
        constraints = [
            models.UniqueConstraint(
                fields=["company", "webhook_key"], name="inbox_company_webhook_key_unique"
            ),
        ]
        indexes = [
            # inbox list: WHERE company_id = ? ORDER BY name, id
            models.Index(fields=["company", "name", "id"], name="inbox_company_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def public_key(self) -> str:
        """The key in this inbox's webhook URL: it carries the company, so the lookup
        `WHERE company_id = ? AND webhook_key = ?` uses the (company, webhook_key) key."""
        return f"{self.company_id}-{self.webhook_key}"
