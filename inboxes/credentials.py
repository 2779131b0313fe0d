"""What a channel kind needs to connect (each adapter lists its fields), and which of it is secret
(write-only: never rendered back, encrypted at rest)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CredentialField:
    name: str
    label: str
    is_secret: bool = False
    help_text: str = ""
    # an option the channel works without (Messenger's HUMAN_AGENT tag)
    required: bool = True
