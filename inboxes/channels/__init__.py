"""Channel adapters: one per channel kind, behind one interface (inboxes.channels.base). The rest
of the code asks `adapter_for(inbox)` (or `adapter_for_kind(kind)`), never which channel it is."""

from inboxes.channels.base import (
    ChannelAdapter,
    CredentialsRejected,
    IgnoredDelivery,
    InboundAttachment,
    InboundMessage,
    MessageRemoved,
    OutboundAttachment,
    OutboundMessage,
    ParsedEvent,
    SendError,
    SendResult,
    StatusUpdate,
    StatusWatermark,
    UnparseableDelivery,
    WebhookRefused,
)
from inboxes.channels.registry import ADAPTERS, adapter_for, adapter_for_kind, all_adapters

__all__ = [
    "ADAPTERS",
    "ChannelAdapter",
    "CredentialsRejected",
    "IgnoredDelivery",
    "InboundAttachment",
    "InboundMessage",
    "MessageRemoved",
    "OutboundAttachment",
    "OutboundMessage",
    "ParsedEvent",
    "SendError",
    "SendResult",
    "StatusUpdate",
    "StatusWatermark",
    "UnparseableDelivery",
    "WebhookRefused",
    "adapter_for",
    "adapter_for_kind",
    "all_adapters",
]
