"""Reads of inboxes, always for one company."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import (
    BinaryField,
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from companies.models import Company
from conversations.models import Message
from inboxes.channels import adapter_for
from inboxes.models import Inbox, WebhookDelivery


def inboxes_of(company: Company) -> QuerySet[Inbox]:
    return Inbox.objects.for_company(company).order_by("name", "id")


# --- inbox health and delivery log (company admins) --------------------------------------------

LOG_PAGE_SIZE = 25
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class InboxSummary:
    """An inbox in the admins' list, with what tells at a glance whether it works."""

    inbox: Inbox
    last_delivery_at: datetime | None
    last_send_at: datetime | None
    dead_letters: int
    failed_sends: int  # in the last RECENT

    @property
    def has_trouble(self) -> bool:
        return bool(self.dead_letters or self.failed_sends)


def inbox_summaries(company: Company) -> list[InboxSummary]:
    """The company's inboxes, each with its last delivery in and send out, its dead letters and
    its recent failed sends: one statement, a few index probes per inbox (a company has few)."""
    since = timezone.now() - RECENT
    # a constant company in every subquery: one shard on Citus
    deliveries = WebhookDelivery.objects.filter(company_id=company.pk, inbox_id=OuterRef("pk"))
    sends = Message.objects.filter(
        company_id=company.pk,
        inbox_id=OuterRef("pk"),
        sender_type=Message.SenderType.AGENT,
    )
    rows = inboxes_of(company).annotate(
        last_delivery_at=Subquery(
            deliveries.order_by("-received_at", "-id").values("received_at")[:1]
        ),
        last_send_at=Subquery(sends.order_by("-timestamp", "-id").values("timestamp")[:1]),
        dead_letters=_count(deliveries.filter(state=WebhookDelivery.State.DEAD)),
        failed_sends=_count(
            sends.filter(delivery_status=Message.DeliveryStatus.FAILED, timestamp__gte=since)
        ),
    )
    return [
        InboxSummary(
            inbox=row,
            last_delivery_at=row.last_delivery_at,
            last_send_at=row.last_send_at,
            dead_letters=row.dead_letters,
            failed_sends=row.failed_sends,
        )
        for row in rows
    ]


def _count(rows: QuerySet) -> Subquery:
    return Coalesce(
        Subquery(rows.order_by().values("company_id").annotate(n=Count("*")).values("n")[:1]),
        0,
    )


@dataclass(frozen=True)
class Finding:
    """One thing the health page tells an admin: what is wrong (or fine) and what to do."""

    level: str  # "ok", "warning", "problem"
    title: str
    advice: str


@dataclass(frozen=True)
class InboxHealth:
    last_delivery_at: datetime | None
    received_recently: int
    dead_letters: int
    ignored_recently: int
    failed_sends_recently: int
    last_failed_send: Message | None
    findings: list[Finding]


def inbox_health(inbox: Inbox) -> InboxHealth:
    """What the inbox's deliveries and sends say about its connection, in words an admin can act
    on: "verified but nothing arrives" among them."""
    since = timezone.now() - RECENT
    deliveries = WebhookDelivery.objects.filter(company_id=inbox.company_id, inbox_id=inbox.pk)
    last = deliveries.order_by("-received_at", "-id").values_list("received_at", flat=True)[:1]
    last_delivery_at = next(iter(last), None)
    recent = dict(
        deliveries.filter(received_at__gte=since)
        .order_by()
        .values_list("state")
        .annotate(n=Count("*"))
        .values_list("state", "n")
    )
    dead = deliveries.filter(state=WebhookDelivery.State.DEAD).count()
    failed_sends = Message.objects.filter(
        company_id=inbox.company_id,
        inbox_id=inbox.pk,
        sender_type=Message.SenderType.AGENT,
        delivery_status=Message.DeliveryStatus.FAILED,
        timestamp__gte=since,
    ).order_by("-timestamp", "-id")
    last_failed = failed_sends.first()
    health = {
        "last_delivery_at": last_delivery_at,
        "received_recently": sum(recent.values()),
        "dead_letters": dead,
        "ignored_recently": recent.get(WebhookDelivery.State.IGNORED, 0),
        "failed_sends_recently": failed_sends.count() if last_failed else 0,
        "last_failed_send": last_failed,
    }
    return InboxHealth(**health, findings=_findings(inbox, **health))


def _findings(
    inbox: Inbox,
    *,
    last_delivery_at: datetime | None,
    received_recently: int,
    dead_letters: int,
    ignored_recently: int,
    failed_sends_recently: int,
    last_failed_send: Message | None,
) -> list[Finding]:
    adapter = adapter_for(inbox)
    findings = []
    if not inbox.is_active:
        findings.append(
            Finding(
                "problem",
                "This inbox is deactivated.",
                "Its webhook refuses every delivery (410) and nothing is sent. Reactivate it "
                "from the inbox list.",
            )
        )
    if last_delivery_at is None:
        subscription = (
            " In the Meta app's webhook settings, check that this address is the callback URL "
            "and that the app is subscribed to the messages field (for WhatsApp: WhatsApp > "
            "Configuration > Webhook fields > messages). Meta verifies the address with the "
            "verify token, but sends nothing until a field is subscribed. Then send a message "
            "to the number from a phone; a test number only accepts the recipients listed in "
            "the app."
            if adapter.uses_verify_token
            else ""
        )
        findings.append(
            Finding(
                "warning",
                "No delivery has arrived yet.",
                "Paste the webhook address below into the provider's console." + subscription,
            )
        )
    elif received_recently == 0:
        findings.append(
            Finding(
                "warning",
                "Nothing has arrived in the last 7 days.",
                "If customers did write, check the app's webhook subscription and that the "
                "webhook address is still this one.",
            )
        )
    if dead_letters:
        findings.append(
            Finding(
                "problem",
                f"{dead_letters} deliver{'y' if dead_letters == 1 else 'ies'} could not be read.",
                "Each dead letter below keeps its content and the reason. Reprocess it once "
                "the cause is fixed; nothing is lost meanwhile.",
            )
        )
    if ignored_recently:
        findings.append(
            Finding(
                "warning",
                f"{ignored_recently} recent deliver{'y' if ignored_recently == 1 else 'ies'} "
                "named another account.",
                f"The provider sent events for an account other than this inbox's "
                f"{adapter.label} account ID. Check the ID in the settings, or whether the app "
                "sends several numbers' webhooks to this address.",
            )
        )
    if last_failed_send is not None:
        reason = (last_failed_send.last_error or "no reason given").rstrip(". ")
        code = (
            f" (code {last_failed_send.last_error_code})"
            if last_failed_send.last_error_code
            else ""
        )
        findings.append(
            Finding(
                "problem",
                f"{failed_sends_recently} repl{'y' if failed_sends_recently == 1 else 'ies'} "
                "failed in the last 7 days.",
                f"The last one: {reason}{code}. "
                + (
                    "The provider refused the access token: enter a current one in the settings."
                    if last_failed_send.last_error_code == "190"
                    else "Fix the cause, then retry the reply from its conversation."
                ),
            )
        )
    if not findings:
        findings.append(
            Finding("ok", "Working.", "Deliveries arrive and replies go out without errors.")
        )
    return findings


@dataclass(frozen=True)
class LogPage:
    """One page of a newest-first log, with cursors for the pages around it (keyset: as fast on
    the thousandth page as on the first)."""

    rows: list
    newer: str  # "" when this is the newest page
    older: str  # "" when this is the oldest


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _cursor(moment: datetime, pk: int) -> str:
    return f"{(moment - EPOCH) // MICROSECOND}-{pk}"


def _parse_cursor(text: str) -> tuple[datetime, int] | None:
    micros, _, pk = (text or "").partition("-")
    if not (micros.isdigit() and pk.isdigit()) or len(micros) > 17 or len(pk) > 18:
        return None
    return EPOCH + int(micros) * MICROSECOND, int(pk)


def _log_page(rows: QuerySet, field: str, *, before: str, after: str) -> LogPage:
    """Rows ordered newest first by (`field`, id): those older than `before`, or the page just
    newer than `after`, or the newest."""
    size = LOG_PAGE_SIZE
    after_key, before_key = _parse_cursor(after), _parse_cursor(before)
    if after_key is not None:
        moment, pk = after_key
        newer = Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "pk__gt": pk})
        page = list(rows.filter(newer).order_by(field, "id")[: size + 1])
        has_newer, has_older = len(page) > size, True
        page = page[:size][::-1]
    else:
        if before_key is not None:
            moment, pk = before_key
            rows = rows.filter(Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": pk}))
        page = list(rows.order_by(f"-{field}", "-id")[: size + 1])
        has_newer, has_older = before_key is not None, len(page) > size
        page = page[:size]
    if not page:
        return LogPage(rows=[], newer="", older="")
    first, last = page[0], page[-1]
    return LogPage(
        rows=page,
        newer=_cursor(getattr(first, field), first.pk) if has_newer else "",
        older=_cursor(getattr(last, field), last.pk) if has_older else "",
    )


REPROCESSABLE = (WebhookDelivery.State.DEAD, WebhookDelivery.State.IGNORED)
DELIVERY_FILTERS = {
    "all": None,
    "dead": WebhookDelivery.State.DEAD,
    "ignored": WebhookDelivery.State.IGNORED,
    "received": WebhookDelivery.State.RECEIVED,
}


def delivery_log(inbox: Inbox, *, show: str = "all", before: str = "", after: str = "") -> LogPage:
    """The inbox's webhook deliveries, newest first, with the first bytes of each body (the
    whole body can be megabytes)."""
    rows = (
        WebhookDelivery.objects.filter(company_id=inbox.company_id, inbox_id=inbox.pk)
        .defer("body")
        .annotate(
            body_head=Func(
                F("body"),
                Value(1),
                Value(BODY_PREVIEW_BYTES),
                function="substring",
                output_field=BinaryField(),
            ),
            body_size=Func(F("body"), function="octet_length", output_field=IntegerField()),
        )
    )
    state = DELIVERY_FILTERS.get(show)
    if state is not None:
        rows = rows.filter(state=state)
    page = _log_page(rows, "received_at", before=before, after=after)
    for delivery in page.rows:
        text = bytes(delivery.body_head or b"").decode("utf-8", errors="replace")
        more = delivery.body_size - BODY_PREVIEW_BYTES
        delivery.body_preview = text + (f"\n… and {more:,} more bytes" if more > 0 else "")
        delivery.can_reprocess = delivery.state in REPROCESSABLE
    return page


def delivery_of(inbox: Inbox, delivery_id: int) -> bool:
    """Whether the inbox has this delivery."""
    return WebhookDelivery.objects.filter(
        company_id=inbox.company_id, inbox_id=inbox.pk, pk=delivery_id
    ).exists()


BODY_PREVIEW_BYTES = 2000


def send_log(
    inbox: Inbox, *, failed_only: bool = False, before: str = "", after: str = ""
) -> LogPage:
    """The agent messages sent through the inbox, newest first, with their delivery outcome."""
    rows = Message.objects.filter(
        company_id=inbox.company_id, inbox_id=inbox.pk, sender_type=Message.SenderType.AGENT
    ).select_related("conversation__customer", "sender_user")
    if failed_only:
        rows = rows.filter(delivery_status=Message.DeliveryStatus.FAILED)
    return _log_page(rows, "timestamp", before=before, after=after)
