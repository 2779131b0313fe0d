"""Conversations with customers and the messages in them."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import Q

from companies.models import CompanyOwned, tenant_foreign_key
from hub.search import searchable
from inboxes.models import Channel

MAX_AGENT_MESSAGE_LENGTH = 5000
# message kinds that carry a file (MessageAttachment)
MEDIA_KINDS = ("image", "audio", "voice", "video", "document", "sticker")


def message_search_vector() -> SearchVector:
    """The full-text document a message is found by (hub.search): its words, accents folded."""
    return SearchVector(searchable("content"), config="simple")


class Conversation(CompanyOwned):
    class Status(models.TextChoices):
        NEW = "new", "New"
        IN_PROGRESS = "in-progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    OPEN_STATUSES = (Status.NEW, Status.IN_PROGRESS)

    customer = tenant_foreign_key("customers.Customer", related_name="conversations")
    # optional: a phone call logged by hand has no inbox
    inbox = tenant_foreign_key("inboxes.Inbox", related_name="conversations", optional=True)
    channel = models.CharField(max_length=20, choices=Channel)
    status = models.CharField(max_length=20, choices=Status, default=Status.NEW)
    assigned_user = tenant_foreign_key(
        settings.AUTH_USER_MODEL, related_name="assigned_conversations", optional=True
    )
    subject = models.CharField(max_length=255, blank=True)
    last_message_at = models.DateTimeField()
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(CompanyOwned.Meta):
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["new", "in-progress", "resolved", "closed"]),
                name="conversation_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=Channel.values), name="conversation_channel_valid"
            ),
        ]
        indexes = [
            # "All" tab: WHERE company_id = ? ORDER BY last_message_at DESC, id DESC
            models.Index(
                "company",
                models.F("last_message_at").desc(),
                models.F("id").desc(),
                name="conv_company_recent_idx",
            ),
            # status filter: WHERE company_id = ? AND status = ? ORDER BY last_message_at DESC, id DESC
            models.Index(
                "company",
                "status",
                models.F("last_message_at").desc(),
                models.F("id").desc(),
                name="conv_company_status_recent_idx",
            ),
            # "Mine" tab: WHERE company_id = ? AND assigned_user_id = ? ORDER BY last_message_at DESC
            models.Index(
                "company",
                "assigned_user",
                models.F("last_message_at").desc(),
                models.F("id").desc(),
                name="conv_company_assignee_idx",
            ),
            # "Unassigned" tab: WHERE company_id = ? AND assigned_user_id IS NULL ORDER BY ... DESC
            models.Index(
                "company",
                models.F("last_message_at").desc(),
                models.F("id").desc(),
                condition=Q(assigned_user__isnull=True),
                name="conv_company_unassigned_idx",
            ),
            # channel filter: WHERE company_id = ? AND channel = ? ORDER BY last_message_at DESC
            models.Index(
                "company",
                "channel",
                models.F("last_message_at").desc(),
                models.F("id").desc(),
                name="conv_company_channel_idx",
            ),
            # "Mine" tab count: WHERE company_id = ? AND assigned_user_id = ? AND status IN (...)
            models.Index(
                fields=["company", "assigned_user", "status", "id"],
                name="conv_assignee_status_idx",
            ),
            # "Unassigned" tab count: WHERE company_id = ? AND assigned_user_id IS NULL AND status ...
            models.Index(
                fields=["company", "status", "id"],
                condition=Q(assigned_user__isnull=True),
                name="conv_unassigned_status_idx",
            ),
            # list poll: SELECT max(updated_at) WHERE company_id = ? (one index probe)
            models.Index(
                "company",
                models.F("updated_at").desc(),
                models.F("id").desc(),
                name="conv_company_updated_idx",
            ),
            # customer panel and inbound routing: WHERE company_id = ? AND customer_id = ? ...
            models.Index(
                "company",
                "customer",
                models.F("last_message_at").desc(),
                models.F("id").desc(),
                name="conv_company_customer_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"Conversation {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Message(CompanyOwned):
    class SenderType(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Agent"

    class DeliveryStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image"
        AUDIO = "audio", "Audio"
        VOICE = "voice", "Voice note"
        VIDEO = "video", "Video"
        DOCUMENT = "document", "Document"
        STICKER = "sticker", "Sticker"
        LOCATION = "location", "Location"
        CONTACTS = "contacts", "Contacts"
        INTERACTIVE = "interactive", "Button reply"
        REACTION = "reaction", "Reaction"
        TEMPLATE = "template", "Template"
        CALL = "call", "Logged call"
        UNSUPPORTED = "unsupported", "Unsupported"

    conversation = tenant_foreign_key(Conversation, related_name="messages")
    # the inbox it came through or goes out by; scopes the provider's message id
    inbox = tenant_foreign_key("inboxes.Inbox", optional=True)
    # inbound content is stored whole; agent-typed content is limited by the reply service
    content = models.TextField()
    sender_type = models.CharField(max_length=20, choices=SenderType)
    # the agent who wrote it; a customer message's sender is the conversation's customer
    sender_user = tenant_foreign_key(settings.AUTH_USER_MODEL, optional=True)
    timestamp = models.DateTimeField()
    is_read = models.BooleanField(default=False)
    provider_message_id = models.CharField(max_length=255, blank=True)
    delivery_status = models.CharField(
        max_length=20, choices=DeliveryStatus, default=DeliveryStatus.PENDING
    )
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # the provider's error code of the last failure (e.g. Graph's 131047), shown with last_error
    last_error_code = models.CharField(max_length=64, blank=True)
    # outbound pipeline: a worker holds the message until claimed_until; a retry waits for
    # next_attempt_at; the sweep re-enqueues pending messages whose task was lost
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # when delivery_status, or the retry note, last changed: an open chat's poll re-renders
    # the status of the agent messages changed since its previous poll
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # what the message is beyond its text: media (see attachments), a location, contacts, a
    # button reply, a reaction; `payload` keeps the typed details the chat shows for it
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.TEXT)
    payload = models.JSONField(default=dict, blank=True)
    # the message this one answers or reacts to (WhatsApp context); the provider's id is kept
    # when the quoted message is not (yet) known here
    reply_to = tenant_foreign_key("self", optional=True)
    reply_to_provider_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(CompanyOwned.Meta):
        ordering = ["timestamp", "id"]
        constraints = [
            # the same webhook delivered twice stores one message
            models.UniqueConstraint(
                fields=["company", "inbox", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="message_company_inbox_provider_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(sender_type__in=["customer", "agent"]), name="message_sender_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(sender_type="agent") | Q(sender_user__isnull=True),
                name="message_customer_has_no_sender_user",
            ),
            models.CheckConstraint(
                condition=Q(delivery_status__in=["pending", "sent", "delivered", "read", "failed"]),
                name="message_delivery_status_valid",
            ),
        ]
        indexes = [
            # chat pane: WHERE company_id = ? AND conversation_id = ? ORDER BY timestamp DESC, id DESC
            models.Index(
                "company",
                "conversation",
                models.F("timestamp").desc(),
                models.F("id").desc(),
                name="msg_company_conv_time_idx",
            ),
            # unread customer messages of a conversation (mark read, badges)
            models.Index(
                "company",
                "conversation",
                "id",
                condition=Q(is_read=False, sender_type="customer"),
                name="msg_company_conv_unread_idx",
            ),
            # message text search: message_search_vector() @@ query AND company_id = ?
            GinIndex(message_search_vector(), name="msg_content_search_idx"),
            # chat poll: WHERE company_id = ? AND conversation_id = ? AND status_changed_at > ?
            models.Index(
                "company",
                "conversation",
                "status_changed_at",
                "id",
                condition=Q(status_changed_at__isnull=False),
                name="msg_company_conv_status_idx",
            ),
            # delivery retries: WHERE company_id = ? AND delivery_status IN (pending, failed)
            models.Index(
                "company",
                "delivery_status",
                "created_at",
                "id",
                condition=Q(delivery_status__in=["pending", "failed"]),
                name="msg_company_undelivered_idx",
            ),
            # an inbox's send log and health: WHERE company_id = ? AND inbox_id = ? AND
            # sender_type = 'agent' ORDER BY timestamp DESC, id DESC
            models.Index(
                "company",
                "inbox",
                models.F("timestamp").desc(),
                models.F("id").desc(),
                condition=Q(sender_type="agent"),
                name="msg_company_inbox_sent_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.content[:60]


class ConversationViewer(CompanyOwned):
    """Who has a conversation open right now (refreshed by every chat poll; stale after
    VIEWER_TTL), so agents see when a colleague is on the same conversation."""

    conversation = tenant_foreign_key(Conversation)
    user = tenant_foreign_key(settings.AUTH_USER_MODEL)
    seen_at = models.DateTimeField()

    class Meta(CompanyOwned.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["company", "conversation", "user"], name="viewer_company_conv_user_unique"
            ),
        ]
        indexes = [
            # presence in the list: WHERE company_id = ? AND seen_at > now() - ttl
            models.Index(fields=["company", "seen_at", "id"], name="viewer_company_seen_idx"),
        ]


def attachment_path(attachment: "MessageAttachment", filename: str) -> str:
    """Stored under the company, never at a guessable public URL: served by a view that checks
    the company of whoever asks."""
    return f"attachments/{attachment.company_id}/{attachment.message_id}/{filename}"


class MessageAttachment(CompanyOwned):
    """A file on a message: inbound media fetched from the provider (pending until downloaded,
    retried when the download fails), or a file an agent attached to a reply."""

    class State(models.TextChoices):
        PENDING = "pending", "Downloading"
        STORED = "stored", "Stored"
        FAILED = "failed", "Download failed"

    message = tenant_foreign_key(Message, related_name="attachments")
    kind = models.CharField(max_length=16, choices=Message.Kind, default=Message.Kind.DOCUMENT)
    mime_type = models.CharField(max_length=255, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    caption = models.TextField(blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    file = models.FileField(upload_to=attachment_path, max_length=500, blank=True)
    provider_media_id = models.CharField(max_length=255, blank=True)
    # providers that send a download link instead of a media id (Messenger, Instagram)
    source_url = models.TextField(blank=True)
    # an email's inline image: the Content-ID its HTML points at (src="cid:...")
    content_id = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=16, choices=State, default=State.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(CompanyOwned.Meta):
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["pending", "stored", "failed"]),
                name="attachment_state_valid",
            ),
        ]
        indexes = [
            # a message's files in the chat pane: WHERE company_id = ? AND message_id IN (...)
            models.Index(fields=["company", "message", "id"], name="attachment_company_msg_idx"),
            # download retries: WHERE company_id = ? AND state = 'pending'
            models.Index(
                fields=["company", "created_at", "id"],
                condition=Q(state="pending"),
                name="attachment_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.filename or f"{self.get_kind_display()} {self.pk}"
