"""Small display helpers for the inbox."""

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def age(moment: datetime | None) -> str:
    """Compact age for list rows: now, 5m, 3h, 2d, then the date."""
    if moment is None:
        return ""
    seconds = (timezone.now() - moment).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d"
    local = timezone.localtime(moment)
    if local.year == timezone.localtime().year:
        return local.strftime("%b %-d")
    return local.strftime("%b %-d, %Y")


@register.filter
def initial(name: str) -> str:
    return (name or "?").strip()[:1].upper() or "?"


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key) if mapping else None


@register.simple_tag
def reply_attachment_types() -> str:
    """The composer's file input `accept`: OUTBOUND_ATTACHMENT_TYPES."""
    from django.conf import settings

    return ",".join(settings.OUTBOUND_ATTACHMENT_TYPES)


@register.simple_tag
def reply_attachment_limit() -> int:
    from django.conf import settings

    return settings.OUTBOUND_ATTACHMENT_MAX_BYTES
