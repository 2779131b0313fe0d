"""The channel's icon, from its adapter: templates never ask which channel it is."""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from inboxes.channels import ADAPTERS

register = template.Library()


@register.simple_tag
def channel_icon(kind: str, size: str = "") -> SafeString:
    adapter = ADAPTERS.get(kind)
    if adapter is None:
        return SafeString("")
    return render_to_string(adapter.icon, {"size": size or "h-4 w-4"})
