"""The channel's icon, from its adapter: templates never ask which channel it is."""

import re
from typing import TYPE_CHECKING

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
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


CID_SRC = re.compile(r'src="cid:([^"]+)"')
QUOTE_START = re.compile(
    r"^(>|On .{3,200} wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From: .+)",
    re.MULTILINE,
)


@register.filter
def mail_html(markup: str, files: list | None = None) -> SafeString:
    """A mail's HTML as stored (sanitized when it arrived), sanitized again on the way out: what
    reaches the page never carries scripts, and remote images wait for the agent's click. Inline
    images (src="cid:...") are drawn from the mail's own stored files, through the hub."""
    html = sanitize_html(markup or "")
    stored = {
        file.content_id: reverse("conversations:attachment", args=[file.pk])
        for file in files or []
        if getattr(file, "content_id", "") and file.state == "stored"
    }
    if stored:
        html = CID_SRC.sub(
            lambda found: (
                f'src="{stored[found.group(1)]}"' if found.group(1) in stored else found.group(0)
            ),
            html,
        )
    return SafeString(html)


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
