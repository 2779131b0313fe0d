"""Which adapter serves which channel kind."""

from typing import TYPE_CHECKING

from inboxes.channels.base import ChannelAdapter
from inboxes.channels.email import EmailAdapter
from inboxes.channels.messenger import InstagramAdapter, MessengerAdapter
from inboxes.channels.phone import PhoneAdapter
from inboxes.channels.whatsapp import WhatsAppAdapter

if TYPE_CHECKING:
    from inboxes.models import Inbox

ADAPTERS: dict[str, ChannelAdapter] = {
    adapter.kind: adapter
    for adapter in (
        WhatsAppAdapter(),
        MessengerAdapter(),
        InstagramAdapter(),
        EmailAdapter(),
        PhoneAdapter(),
    )
}


def adapter_for_kind(kind: str) -> ChannelAdapter:
    """KeyError for a kind that is not a channel (callers parse the kind first)."""
    return ADAPTERS[kind]


def adapter_for(inbox: "Inbox") -> ChannelAdapter:
    return ADAPTERS[inbox.kind]


def all_adapters() -> list[ChannelAdapter]:
    return list(ADAPTERS.values())
