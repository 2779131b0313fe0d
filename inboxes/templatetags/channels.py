"""The channel's icon, from its adapter: templates never ask which channel it is."""

import re
from typing import TYPE_CHECKING

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from inboxes.channels import ADAPTERS
from inboxes.channels.email import sanitize_html

if TYPE_CHECKING:
    from conversations.models import Conversation

register = template.Library()


@register.simple_tag
def channel_icon(kind: str, size: str = "") -> SafeString:
    adapter = ADAPTERS.get(kind)
    if adapter is None:
        return SafeString("")
    return render_to_string(adapter.icon, {"size": size or "h-4 w-4"})


QUOTE_START = re.compile(
    r"^(>|On .{3,200} wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From: .+)",
    re.MULTILINE,
)


@register.filter
def mail_html(markup: str) -> SafeString:
    """A mail's HTML as stored (sanitized when it arrived), sanitized again on the way out: what
    reaches the page never carries scripts, and remote images wait for the agent's click."""
    return SafeString(sanitize_html(markup or ""))


@register.filter
def mail_quote_split(text: str) -> tuple[str, str]:
    """(what the customer wrote, the quoted history below it): the history is folded in the
    chat, never dropped."""
    found = QUOTE_START.search(text or "")
    if found is None or found.start() == 0:
        return text, ""
    return text[: found.start()].rstrip(), text[found.start() :]


@register.simple_tag
def reply_cc(conversation: "Conversation") -> str | None:
    """The Cc a reply starts with on a channel that has one (email): who else the customer's
    latest mail went to, but not this inbox's own address. None on channels without Cc."""
    from conversations.selectors import default_reply_cc

    return default_reply_cc(conversation)
