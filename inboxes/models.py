"""Inboxes: one company's connection to one channel (a WhatsApp number, a page, a mailbox...)."""

import secrets

from django.db import models
from django.db.models import Q

from companies.models import CompanyOwned, tenant_foreign_key
from inboxes.encryption import EncryptedCredentialsField


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
    # secrets (tokens, passwords): encrypted at rest (plain on the model), write-only in every
    # form, never rendered back
    credentials = EncryptedCredentialsField(default=dict, blank=True)
    webhook_key = models.CharField(max_length=64, default=new_webhook_key, editable=False)
    verify_token = models.CharField(max_length=64, default=new_verify_token)
    # where a pull channel left off (IMAP: UIDVALIDITY and the last UID stored), and when it last
    # polled and with what outcome
    sync_state = models.JSONField(default=dict, blank=True)
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


class WebhookDelivery(CompanyOwned):
    """One request a provider sent to an inbox's webhook, stored raw before anything else is done
    with it, so nothing a provider delivered is lost: a task processes it after, and one that
    cannot be processed stays here with its reason (a dead letter) until it is reprocessed."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        DEAD = "dead", "Dead letter"

    inbox = tenant_foreign_key(Inbox, related_name="deliveries")
    received_at = models.DateTimeField()
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField()
    state = models.CharField(max_length=16, choices=State, default=State.RECEIVED)
    # why it was ignored or could not be processed, in words an admin can act on
    reason = models.TextField(blank=True)
    events = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta(CompanyOwned.Meta):
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["received", "processed", "ignored", "dead"]),
                name="delivery_state_valid",
            ),
        ]
        indexes = [
            # delivery log: WHERE company_id = ? AND inbox_id = ? ORDER BY received_at DESC, id DESC
            models.Index(
                "company",
                "inbox",
                models.F("received_at").desc(),
                models.F("id").desc(),
                name="delivery_inbox_recent_idx",
            ),
            # sweep and dead letters: WHERE company_id = ? AND state IN (received, dead)
            models.Index(
                fields=["company", "state", "received_at", "id"],
                condition=Q(state__in=["received", "dead"]),
                name="delivery_unfinished_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inbox_id} {self.received_at:%Y-%m-%d %H:%M:%S} {self.state}"
