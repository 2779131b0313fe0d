"""Every change to conversations and messages, by noun: replies, workflow (status, assignment,
read state), starting conversations, delivery outcomes. Each public service takes the acting user
first and checks what that user may do."""

from conversations.services.common import (
    ReadOnlyConversation,
    Status,
    validate_agent_content,
)
from conversations.services.delivery import record_delivery
from conversations.services.replies import (
    NewActivity,
    OutsideReplyWindow,
    retry_delivery,
    send_agent_reply,
)
from conversations.services.starting import NewCustomer, start_conversation
from conversations.services.workflow import (
    HANDOVER_UNDO_SECONDS,
    assign_conversation,
    assignable_users_q,
    change_status,
    handover_undo_token,
    log_call,
    mark_conversation_read,
    undo_handover,
)

__all__ = [
    "HANDOVER_UNDO_SECONDS",
    "NewActivity",
    "NewCustomer",
    "OutsideReplyWindow",
    "ReadOnlyConversation",
    "Status",
    "assign_conversation",
    "assignable_users_q",
    "change_status",
    "handover_undo_token",
    "log_call",
    "mark_conversation_read",
    "record_delivery",
    "retry_delivery",
    "send_agent_reply",
    "start_conversation",
    "undo_handover",
    "validate_agent_content",
]
