"""Channel adapters: one small interface (verify, parse inbound, send outbound) per channel kind.

The rest of the code asks `adapter_for(inbox)` and never which channel it is. Adapters for the
providers (WhatsApp Cloud API, Messenger, Instagram, SMTP/IMAP, Twilio) register here as they are
built; until a kind has one, its outbound messages fail with a clear reason and can be retried.
"""

from dataclasses import dataclass
from typing import Protocol

from inboxes.models import Inbox


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str


class SendError(Exception):
    """The provider refused or could not be reached; `retryable` says whether to try again."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.retryable = retryable


class ChannelAdapter(Protocol):
    def send(self, inbox: Inbox, *, recipient: str, content: str) -> SendResult: ...


ADAPTERS: dict[str, ChannelAdapter] = {}


def adapter_for(inbox: Inbox) -> ChannelAdapter | None:
    return ADAPTERS.get(inbox.kind)
