from django.contrib import admin

from conversations.models import Conversation, Message


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "customer",
        "company",
        "channel",
        "status",
        "assigned_user",
        "unread_count",
        "last_message_at",
    )
    list_filter = ("status", "channel", "company")
    search_fields = ("subject", "customer__name", "customer__email")
    list_select_related = ("customer", "company", "assigned_user")
    raw_id_fields = ("customer", "inbox", "assigned_user")
    date_hierarchy = "last_message_at"
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "conversation",
        "company",
        "sender_type",
        "short_content",
        "delivery_status",
        "is_read",
        "timestamp",
    )
    list_filter = ("sender_type", "delivery_status", "is_read", "company")
    search_fields = ("content", "provider_message_id")
    list_select_related = ("conversation", "company")
    raw_id_fields = ("conversation", "inbox", "sender_user")
    show_full_result_count = False

    @admin.display(description="Content")
    def short_content(self, message: Message) -> str:
        return message.content[:80]
