"""Reads of conversations and messages, always scoped to a company and, for agents, to what they
may work on. The inbox's hot paths (list, tab counts, polls) run a fixed number of statements
whatever the number of rows, and never OFFSET."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accounts.models import User
from companies.models import Company
from conversations.models import (
    MEDIA_KINDS,
    Conversation,
    ConversationViewer,
    Message,
    MessageAttachment,
    message_search_vector,
)
from customers.models import Customer, customer_search_text, customer_search_vector
from hub.database import StatementTimedOut, statement_timeout
from hub.search import TextSearch, parse_search

PAGE_SIZE = 25
CHAT_PAGE_SIZE = 50
COUNT_CAP = 999  # tab counts stop at 999 ("999+"): as cheap at a million rows as at ten thousand
VIEWER_TTL = timedelta(seconds=15)
TABS = ("mine", "unassigned", "all")
STATUS_FILTERS = ("open", "new", "in-progress", "resolved", "closed", "any")


def sees_only_own_and_unassigned(user: User) -> bool:
    """Agents of a company that keeps colleagues' conversations from them (the company setting
    `agents_see_all_conversations` off) see only their own and the unassigned queue."""
    return user.is_agent and not user.company.agents_see_all_conversations


def visible_conversations(user: User, company: Company | int) -> QuerySet[Conversation]:
    """Conversations `user` may open in `company`: admins see everything in the company, agents
    too (a colleague's read-only) unless the company keeps them to their own and the unassigned
    queue. Nobody sees another company's."""
    company_id = company if isinstance(company, int) else company.pk
    conversations = Conversation.objects.for_company(company_id)
    if not user.is_super_admin and user.company_id != company_id:
        return conversations.none()
    if sees_only_own_and_unassigned(user):
        conversations = conversations.filter(Q(assigned_user=user) | Q(assigned_user__isnull=True))
    return conversations


def may_work_on(user: User, conversation: Conversation) -> bool:
    """Whether `user` may reply to, assign or change the status of a conversation they can see:
    agents work on their own and unassigned ones; a colleague's is read-only to them."""
    return not user.is_agent or conversation.assigned_user_id in (None, user.pk)


@dataclass(frozen=True)
class InboxFilter:
    """What the agent asked the list for (parsed from the query string, defaults filled in)."""

    tab: str = "mine"
    status: str = "open"
    channel: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, params: dict[str, str], *, default_tab: str = "mine") -> "InboxFilter":
        from inboxes.models import Channel

        tab = params.get("tab", default_tab)
        status = params.get("status", "open")
        channel = params.get("channel", "")
        return cls(
            tab=tab if tab in TABS else default_tab,
            status=status if status in STATUS_FILTERS else "open",
            channel=channel if channel in Channel.values else "",
            q=params.get("q", "").strip()[:100],
        )

    def as_query(self) -> dict[str, str]:
        return {"tab": self.tab, "status": self.status, "channel": self.channel, "q": self.q}


def _filtered(user: User, company: Company, flt: InboxFilter, *, tab: str) -> QuerySet:
    conversations = visible_conversations(user, company)
    if tab == "mine":
        conversations = conversations.filter(assigned_user=user)
    elif tab == "unassigned":
        conversations = conversations.filter(assigned_user__isnull=True)
    if flt.status == "open":
        conversations = conversations.filter(status__in=Conversation.OPEN_STATUSES)
    elif flt.status != "any":
        conversations = conversations.filter(status=flt.status)
    if flt.channel:
        conversations = conversations.filter(channel=flt.channel)
    return conversations


# Search never trusts PostgreSQL's estimate of how many rows a word matches: a word without
# statistics is guessed at 0.5% of the table, which sent the planner walking every conversation
# of a big tenant for a word nobody wrote. Instead each side is looked up through its full-text
# index with a LIMIT (index walks switched off for that lookup, so the plan is the index's bitmap
# whatever the estimate), and the answer decides:
# - both sides few (up to MATCHING_CUSTOMERS customers and MATCHING_MESSAGES messages): the
#   page is fetched by the matching conversation ids, a cost bounded by those limits;
# - a side with more (a common word, a short name prefix): the list is walked newest-first,
#   testing each conversation; with that many matches a page fills within a few dozen rows.
# Every statement runs under DATABASE_SEARCH_TIMEOUT (hub/database.py).
MATCHING_CUSTOMERS = 2_000
MATCHING_MESSAGES = 20_000
# a word the statistics show in more messages than this would fill the look-up's LIMIT: skipped
COMMON_MESSAGES = MATCHING_MESSAGES


class EachRowExists(Exists):
    """EXISTS that PostgreSQL tests row by row as the list is walked. A plain EXISTS may be
    turned into a hashed set of every match, computed before the first row (all messages with a
    common word: seconds at 1M); OFFSET 0 is PostgreSQL's documented fence against that."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


class SearchTimedOut(Exception):
    """The search ran longer than DATABASE_SEARCH_TIMEOUT; PostgreSQL cancelled it."""


def bitmap_plans_only(on: bool) -> None:
    """Within the search's transaction: only bitmap scans (the full-text indexes) for the
    look-ups, whatever PostgreSQL estimates; then back to every plan."""
    value = "off" if on else "on"
    with connection.cursor() as cursor:
        # SET LOCAL statements (not set_config): on Citus, with propagate_set_commands 'local',
        # they reach the workers that run the look-ups on the shards; on one PostgreSQL the
        # citus.* setting is an unused placeholder
        cursor.execute("SET LOCAL citus.propagate_set_commands TO 'local'")
        cursor.execute(f"SET LOCAL enable_indexscan TO {value}")
        cursor.execute(f"SET LOCAL enable_seqscan TO {value}")


@dataclass(frozen=True)
class _Matches:
    """What a search matched: lists when they are short, else a condition to test row by row."""

    customer_ids: list[int] | None  # None: too many, test `by_customer` per row
    conversation_ids: list[int] | None  # None: too many messages, test `by_message` per row
    by_customer: Q
    by_message: Q | Exists | None

    @property
    def bounded(self) -> bool:
        return self.customer_ids is not None and (
            self.conversation_ids is not None or self.by_message is None
        )


def search_lookups(company: Company, search: TextSearch) -> tuple[QuerySet, QuerySet | None]:
    """The two look-ups of a search, unbounded: matching customers' ids, and matching messages
    (None when only punctuation was typed: no word to look up in messages, and a scan of every
    message for it would be unbounded; customers' names and identities still match)."""
    customers = (
        search.apply(
            Customer.objects.for_company(company),
            document=customer_search_vector(),
            text=customer_search_text(),
        )
        .order_by()
        .values_list("id", flat=True)
    )
    messages = None
    if search.query is not None:
        messages = search.apply(
            Message.objects.for_company(company), document=message_search_vector(), text="content"
        ).order_by()
    return customers, messages


def _surely_common(words: tuple[str, ...]) -> bool:
    """Whether PostgreSQL's statistics of the message index show every word (as a prefix) in
    far more messages than MATCHING_MESSAGES: then the look-up would only fill its LIMIT, and
    is skipped. A word missing from the statistics (rare, or never written) is not common."""
    if not words:
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT min(found.share) * (SELECT greatest(reltuples, 0) FROM pg_class
                                          WHERE oid = 'conversations_message'::regclass)
               FROM (SELECT (SELECT coalesce(sum(m.share), 0)
                             FROM pg_stats s,
                                  unnest(s.most_common_elems::text::text[],
                                         s.most_common_elem_freqs) AS m(word, share)
                             WHERE s.schemaname = current_schema()
                               AND s.tablename = 'msg_content_search_idx'
                               AND starts_with(m.word, typed)) AS share
                     FROM unnest(%s::text[]) AS typed) AS found""",
            [list(words)],
        )
        estimate = cursor.fetchone()[0]
    return estimate is not None and estimate > COMMON_MESSAGES


def _matches(company: Company, text: str) -> _Matches | None:
    """Look up what `text` matches in customers (name, identities) and messages: two bounded
    index look-ups. None when nothing was typed."""
    search = parse_search(text)
    if search is None:
        return None
    customers, messages = search_lookups(company, search)
    common = messages is not None and _surely_common(search.words)
    bitmap_plans_only(True)
    customer_ids = list(customers[: MATCHING_CUSTOMERS + 1])
    conversation_ids: list[int] | None = []
    if common:
        conversation_ids = None
    elif messages is not None:
        conversation_ids = list(
            messages.values_list("conversation_id", flat=True)[: MATCHING_MESSAGES + 1]
        )
    bitmap_plans_only(False)
    few_customers = len(customer_ids) <= MATCHING_CUSTOMERS
    few_messages = conversation_ids is not None and len(conversation_ids) <= MATCHING_MESSAGES
    return _Matches(
        customer_ids=customer_ids if few_customers else None,
        conversation_ids=sorted(set(conversation_ids)) if few_messages else None,
        by_customer=Q(customer_id__in=customer_ids if few_customers else customers),
        by_message=None
        if messages is None
        else EachRowExists(messages.filter(company_id=company.pk, conversation_id=OuterRef("pk"))),
    )


def _id_in(ids: list[int]) -> RawSQL:
    """id = ANY(constant array): PostgreSQL hashes it (an IN (subquery) here gets planned as a
    per-row check)."""
    return RawSQL(
        '"conversations_conversation"."id" = ANY(%s::bigint[])', [ids], output_field=BooleanField()
    )


def _searched_page(
    conversations: QuerySet, company: Company, matches: _Matches, *, older_than, limit: int
) -> list[int] | QuerySet:
    """The searched list: ids of the page's rows (newest first) when the matches are few, else
    the filtered list with a per-row test, to be walked newest-first."""
    if matches.bounded:
        condition = Q(customer_id__in=matches.customer_ids) | Q(
            _id_in(matches.conversation_ids or [])
        )
        if not matches.customer_ids and not matches.conversation_ids:
            return []
        if older_than is not None:
            conversations = conversations.filter(older_than)
        # no ORDER BY/LIMIT here: PostgreSQL fetches the few matches by id (it cannot be tempted
        # to walk the list newest-first hoping to meet them), then the page is cut in Python
        found = conversations.filter(condition).order_by().values_list("last_message_at", "id")
        return [pk for _, pk in sorted(found, reverse=True)[: limit + 1]]
    by_message = (
        _id_in(matches.conversation_ids)
        if matches.conversation_ids is not None
        else matches.by_message
    )
    return conversations.filter(matches.by_customer | Q(by_message))


@dataclass(frozen=True)
class Cursor:
    """Position in the list: the last row's (last_message_at, id)."""

    last_message_at: datetime
    id: int

    def __str__(self) -> str:
        return f"{self.last_message_at.isoformat()}_{self.id}"

    @classmethod
    def parse(cls, value: str | None) -> "Cursor | None":
        if not value:
            return None
        stamp, _, pk = value.rpartition("_")
        try:
            return cls(datetime.fromisoformat(stamp), int(pk))
        except ValueError:
            return None

    def _compare(self, operator: str) -> RawSQL:
        """(last_message_at, id) <op> (cursor): a row comparison the (company, last_message_at,
        id) indexes answer directly."""
        return RawSQL(
            '("conversations_conversation"."last_message_at", "conversations_conversation"."id")'
            f" {operator} (%s, %s)",
            (self.last_message_at, self.id),
            output_field=BooleanField(),
        )

    def older(self) -> RawSQL:
        return self._compare("<")

    def not_older(self) -> RawSQL:
        return self._compare(">=")


def with_row_fields(
    conversations: QuerySet[Conversation], company: Company
) -> QuerySet[Conversation]:
    """What a list row shows, in the same statement: customer, assignee, and a preview of the
    last message (so a row looks the same whether the list, a poll or an action rendered it)."""
    # a constant company (not OuterRef): on Citus the subquery then runs on the list's shard
    latest = Message.objects.filter(company_id=company.pk, conversation_id=OuterRef("pk")).order_by(
        "-timestamp", "-id"
    )
    latest_reply = latest.filter(sender_type=Message.SenderType.AGENT)
    return conversations.select_related("customer", "assigned_user").annotate(
        preview=Substr(Subquery(latest.values("content")[:1]), 1, 140),
        preview_sender=Subquery(latest.values("sender_type")[:1]),
        # the row is marked when the agents' last reply was not delivered
        last_reply_status=Subquery(latest_reply.values("delivery_status")[:1]),
    )


def conversation_row(user: User, company: Company, conversation_id: int) -> Conversation:
    """One list row, as the list renders it (DoesNotExist if `user` may not see it)."""
    return with_row_fields(visible_conversations(user, company), company).get(pk=conversation_id)


UNREAD_CAP = 99


def _searched_rows(
    conversations: QuerySet, company: Company, text: str, *, after: "Cursor | None", limit: int
) -> list[Conversation]:
    matches = _matches(company, text)
    older_than = after.older() if after is not None else None
    if matches is None:  # only spaces typed: the plain list
        page = conversations
    else:
        page = _searched_page(conversations, company, matches, older_than=older_than, limit=limit)
    if isinstance(page, list):
        rows = with_row_fields(Conversation.objects.for_company(company), company).filter(
            pk__in=page
        )
        return list(rows.order_by("-last_message_at", "-id"))
    page = with_row_fields(page, company)
    if older_than is not None:
        page = page.filter(older_than)
    return list(page.order_by("-last_message_at", "-id")[: limit + 1])


@dataclass(frozen=True)
class InboxPage:
    rows: list[Conversation]
    next_cursor: Cursor | None


def inbox_page(
    user: User,
    company: Company,
    flt: InboxFilter,
    *,
    after: Cursor | None = None,
    through: Cursor | None = None,
) -> InboxPage:
    """One page of the list, newest activity first, with customer, assignee and a preview of the
    last message in the same statement. `after` continues below a cursor ("load more");
    `through` re-renders everything down to a cursor (a poll after several "load more")."""
    conversations = _filtered(user, company, flt, tab=flt.tab)
    limit = PAGE_SIZE
    if through is not None:
        conversations = conversations.filter(through.not_older())
        limit = 20 * PAGE_SIZE
    if flt.q:
        try:
            with statement_timeout(settings.DATABASE_SEARCH_TIMEOUT):
                rows = _searched_rows(conversations, company, flt.q, after=after, limit=limit)
        except StatementTimedOut as slow:
            raise SearchTimedOut(flt.q) from slow
    else:
        conversations = with_row_fields(conversations, company)
        if after is not None:
            conversations = conversations.filter(after.older())
        rows = list(conversations.order_by("-last_message_at", "-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = Cursor(rows[-1].last_message_at, rows[-1].pk) if rows and has_more else None
    return InboxPage(rows=rows, next_cursor=next_cursor)


# How far back a poll looks again before the newest change it has seen: a transaction that
# stamped its change earlier but committed later is still caught. Changes already shown inside
# that margin are named in the token (`handled`), so they are not sent twice.
CHANGE_MARGIN = timedelta(seconds=2)
CHANGES_PER_POLL = 200  # more changes than this since the last poll: the list is rendered whole
# a token names at most this many changes within the margin (newest first; more, in a burst, are
# looked at again by the next poll), so that it stays small in the poll's URL
HANDLED_CHANGES = 40


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    """A time as whole microseconds since 1970 (as PostgreSQL's extract(epoch) * 10^6)."""
    return (moment - EPOCH) // MICROSECOND


def _from_micros(micros: int) -> datetime:
    return EPOCH + micros * MICROSECOND


@dataclass(frozen=True)
class TabCounts:
    mine: int
    unassigned: int
    all: int
    unread: int  # the tab title's count, capped at UNREAD_CAP + 1
    newest_change: datetime | None  # the company's newest conversation change when counted
    recent_changes: tuple[tuple[int, int], ...]  # (id, updated_at µs) within CHANGE_MARGIN of it

    @staticmethod
    def label(n: int) -> str:
        return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)

    def labels(self) -> dict[str, str]:
        return {tab: self.label(getattr(self, tab)) for tab in TABS}

    @property
    def unread_label(self) -> str | int:
        return f"{UNREAD_CAP}+" if self.unread > UNREAD_CAP else self.unread

    @property
    def numbers(self) -> tuple[int, int, int, int]:
        return (self.mine, self.unassigned, self.all, self.unread)


def _status_only(flt: InboxFilter) -> InboxFilter:
    return InboxFilter(tab=flt.tab, status=flt.status)


def _unread_sql(user: User, company: Company) -> tuple[str, list]:
    """How many open conversations `user` works on (their own and the unassigned queue; all for
    admins) have unread customer messages, capped at UNREAD_CAP + 1: the tab title's count."""
    conversations = Conversation.objects.for_company(company).filter(
        unread_count__gt=0, status__in=Conversation.OPEN_STATUSES
    )
    if user.is_agent:
        conversations = conversations.filter(Q(assigned_user=user) | Q(assigned_user__isnull=True))
    capped = conversations.order_by().values("pk")[: UNREAD_CAP + 1]
    sql, params = capped.query.sql_with_params()
    return f"(SELECT count(*) FROM ({sql}) AS unread_rows)", list(params)


def tab_counts(
    user: User, company: Company, flt: InboxFilter, *, with_changes: bool = True
) -> TabCounts:
    """How many conversations each tab holds in the chosen status, each count capped at
    COUNT_CAP + 1 rows and served by an index, how many of the user's have unread messages (the
    tab title), and where the company's changes stand (the list poll's starting point): one
    statement.

    Counts follow the status filter only (not channel or search), so each is a bounded
    index-only scan whatever the company's size. For an agent kept to their own and the
    unassigned queue, All is Mine plus Unassigned.
    """
    by_status = _status_only(flt)
    parts, params = [], []
    limited = sees_only_own_and_unassigned(user)
    for tab in ("mine", "unassigned") if limited else TABS:
        capped = _filtered(user, company, by_status, tab=tab).order_by().values("pk")
        sql, tab_params = capped[: COUNT_CAP + 1].query.sql_with_params()
        parts.append(f"(SELECT count(*) FROM ({sql}) AS {tab}_rows)")
        params.extend(tab_params)
    if limited:
        parts.append(f"{parts[0]} + {parts[1]}")
        params.extend(params[:])
    unread_sql, unread_params = _unread_sql(user, company)
    parts.append(unread_sql)
    params.extend(unread_params)
    if with_changes:
        # the newest changes (a probe of conv_company_updated_idx): the poll's starting point
        parts.append(
            "(SELECT json_agg(json_build_array(r.id, r.micros) ORDER BY r.micros DESC) FROM ("
            " SELECT id, (extract(epoch FROM updated_at) * 1000000)::bigint AS micros"
            " FROM conversations_conversation WHERE company_id = %s"
            " ORDER BY updated_at DESC, id DESC LIMIT %s) r)"
        )
        params.extend([company.pk, HANDLED_CHANGES])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        row = cursor.fetchone()
    mine, unassigned, everything, unread = row[:4]
    newest, recent = None, ()
    if with_changes and row[4]:
        changes = [(int(pk), int(micros)) for pk, micros in row[4]]
        newest = _from_micros(changes[0][1])
        margin = _micros(newest - CHANGE_MARGIN)
        recent = tuple(change for change in changes if change[1] > margin)
    return TabCounts(
        mine=mine,
        unassigned=unassigned,
        all=everything,
        unread=unread,
        newest_change=newest,
        recent_changes=recent,
    )


@dataclass(frozen=True)
class RowPresence:
    """For a page of rows: colleagues viewing each conversation right now, and when this user
    last had each one open (to mark rows with messages since)."""

    viewers: dict[int, list[str]]
    seen_at: dict[int, datetime]
    pairs: frozenset[tuple[int, int]] = frozenset()  # (conversation, colleague) viewing now

    def changed_since_seen(self, conversations: list[Conversation]) -> set[int]:
        """Conversations with a message newer than this user's last look (never opened: not
        marked; their unread badge says enough)."""
        return {
            c.pk
            for c in conversations
            if c.pk in self.seen_at and c.last_message_at > self.seen_at[c.pk]
        }


def row_presence(user: User, company: Company, conversation_ids: list[int]) -> RowPresence:
    """Who is viewing these conversations and when `user` last saw them: one statement."""
    if not conversation_ids:
        return RowPresence(viewers={}, seen_at={})
    viewers: dict[int, list[str]] = {}
    seen_at: dict[int, datetime] = {}
    pairs = set()
    fresh = timezone.now() - VIEWER_TTL
    rows = (
        ConversationViewer.objects.for_company(company)
        .filter(conversation_id__in=conversation_ids)
        .filter(Q(user=user) | Q(seen_at__gt=fresh))
        .values_list("conversation_id", "user_id", "seen_at", "user__first_name", "user__email")
        .order_by("conversation_id", "user__first_name")
    )
    for conversation_id, user_id, seen, first_name, email in rows:
        if user_id == user.pk:
            seen_at[conversation_id] = seen
        else:
            viewers.setdefault(conversation_id, []).append(first_name or email)
            pairs.add((conversation_id, user_id))
    return RowPresence(viewers=viewers, seen_at=seen_at, pairs=frozenset(pairs))


# ---------------------------------------------------------------- the list poll
class ListToken(BaseModel):
    """What a rendered list showed, sent back by its poll (`v`): where the company's changes
    stood (`top`, µs) and the changes within CHANGE_MARGIN of it already shown (`handled`), the
    colleagues viewing its rows (`viewers`: conversation, user) and its numbers (`counts`:
    Mine, Unassigned, All, unread)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    top: int = Field(ge=0)
    handled: list[tuple[int, int]] = Field(default_factory=list, max_length=HANDLED_CHANGES)
    viewers: list[tuple[int, int]] = Field(default_factory=list, max_length=2000)
    counts: tuple[int, int, int, int]

    @classmethod
    def parse(cls, value: str | None) -> "ListToken | None":
        """The token, or None when it is missing or not one of ours (then the list is
        rendered whole)."""
        if not value:
            return None
        try:
            return cls.model_validate_json(value)
        except ValidationError:
            return None

    def __str__(self) -> str:
        return self.model_dump_json()

    @classmethod
    def after(
        cls,
        newest: datetime | None,
        changes: "list[tuple[int, int]] | tuple[tuple[int, int], ...]",
        *,
        viewers: "set[tuple[int, int]] | frozenset[tuple[int, int]]",
        counts: tuple[int, int, int, int],
        top: int = 0,
    ) -> "ListToken":
        """A token that has seen everything up to `newest` and the `changes` listed."""
        top = max(top, _micros(newest) if newest else 0)
        margin = _micros(_from_micros(top) - CHANGE_MARGIN) if top else 0
        handled = sorted(
            {(pk, micros) for pk, micros in changes if micros > margin},
            key=lambda change: change[1],
        )
        return cls(
            top=top,
            handled=handled[-HANDLED_CHANGES:],
            viewers=sorted(viewers),
            counts=counts,
        )


@dataclass(frozen=True)
class ListChanges:
    """What a list poll must change on the agent's screen; nothing (`unchanged`) means 204."""

    token: ListToken
    rows: list[Conversation]  # to show: updated in place, or new to the list
    removed: list[int]  # shown, no longer in this list
    counts: TabCounts | None  # when a number changed
    presence: RowPresence | None = None

    @property
    def unchanged(self) -> bool:
        return not self.rows and not self.removed and self.counts is None


class ListTooChanged(Exception):
    """More changed since the last poll than is worth patching: render the list whole."""


def _visible_sql(user: User) -> str:
    if sees_only_own_and_unassigned(user):
        return "(c.assigned_user_id = %(user)s OR c.assigned_user_id IS NULL)"
    return "TRUE"


def _matching(user: User, company: Company, flt: InboxFilter, ids: set[int]) -> list[Conversation]:
    """Of `ids`, the conversations in `user`'s list with this filter (search included), with
    what a row shows: one statement."""
    conversations = _filtered(user, company, flt, tab=flt.tab).filter(pk__in=ids)
    search = parse_search(flt.q) if flt.q else None
    if search is not None:
        # a handful of rows: test each one (customer by id, messages by conversation)
        customer = search.apply(
            Customer.objects.for_company(company).filter(pk=OuterRef("customer_id")),
            document=customer_search_vector(),
            text=customer_search_text(),
        )
        condition = Exists(customer)
        if search.query is not None:
            messages = search.apply(
                Message.objects.for_company(company).filter(conversation_id=OuterRef("pk")),
                document=message_search_vector(),
                text="content",
            )
            condition = condition | Exists(messages)
        conversations = conversations.filter(condition)
    return list(with_row_fields(conversations, company))


def _changed_rows(
    user: User,
    company: Company,
    flt: InboxFilter,
    candidates: set[int],
    *,
    shown_set: set[int],
    through: Cursor | None,
) -> tuple[list[Conversation], list[int], "RowPresence | None"]:
    """Of the changed conversations, the rows to show (in the list's order) and the shown ones
    to remove, with the presence of those shown."""
    matching = _matching(user, company, flt, candidates)
    found = {c.pk for c in matching}
    removed = sorted(pk for pk in candidates & shown_set if pk not in found)
    rows = [
        c
        for c in matching
        if c.pk in shown_set
        or through is None
        or (c.last_message_at, c.pk) >= (through.last_message_at, through.id)
    ]
    rows.sort(key=lambda c: (c.last_message_at, c.pk), reverse=True)
    presence = row_presence(user, company, [c.pk for c in rows]) if rows else None
    return rows, removed, presence


def list_changes(
    user: User,
    company: Company,
    flt: InboxFilter,
    token: ListToken,
    *,
    shown: list[int],
    through: Cursor | None,
) -> ListChanges:
    """What changed in what `user` sees since `token`: rows of their list (`shown`, down to
    `through`), its tab counts and unread count, and who views its rows.

    One statement when nothing changed for them, outside any transaction (one round trip, under
    the session's DATABASE_STATEMENT_TIMEOUT): the company's conversations changed since the
    token (an index probe of conv_company_updated_idx) and the colleagues viewing the shown rows.
    A change the user cannot see (a colleague's conversation when the company keeps agents to
    their own) stops there. A visible one costs the counts statement, and the changed rows one
    more, rendered alone, both under DATABASE_POLL_TIMEOUT (StatementTimedOut past it). Raises
    ListTooChanged when more than CHANGES_PER_POLL changed."""
    shown_set = set(shown)
    since = (
        _from_micros(token.top) - CHANGE_MARGIN if token.top else datetime.min.replace(tzinfo=UTC)
    )
    params = {
        "company": company.pk,
        "since": since,
        "cap": CHANGES_PER_POLL + 1,
        "shown": sorted(shown_set),
        "fresh": timezone.now() - VIEWER_TTL,
        "user": user.pk,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT
                (SELECT json_agg(json_build_array(ch.id, ch.assigned_user_id, ch.micros))
                 FROM (SELECT id, assigned_user_id,
                              (extract(epoch FROM updated_at) * 1000000)::bigint AS micros
                       FROM conversations_conversation
                       WHERE company_id = %(company)s AND updated_at > %(since)s
                       ORDER BY updated_at DESC, id DESC LIMIT %(cap)s) ch),
                (SELECT json_agg(json_build_array(v.conversation_id, v.user_id))
                 FROM conversations_conversationviewer v
                 JOIN conversations_conversation c
                   ON c.company_id = %(company)s AND c.id = v.conversation_id
                 WHERE v.company_id = %(company)s AND v.conversation_id = ANY(%(shown)s::bigint[])
                   AND v.seen_at > %(fresh)s AND v.user_id <> %(user)s
                   AND {_visible_sql(user)})""",
            params,
        )
        changed_rows, viewer_rows = cursor.fetchone()
    changed_rows = changed_rows or []
    if len(changed_rows) > CHANGES_PER_POLL:
        raise ListTooChanged
    viewers = {(int(c), int(u)) for c, u in viewer_rows or []}
    handled = set(map(tuple, token.handled))
    fresh_changes = [
        (int(pk), assignee, int(micros))
        for pk, assignee, micros in changed_rows
        if (pk, micros) not in handled
    ]
    limited = sees_only_own_and_unassigned(user)
    visible_changes = {
        pk
        for pk, assignee, _ in fresh_changes
        if pk in shown_set or not limited or assignee in (None, user.pk)
    }
    before = {tuple(pair) for pair in token.viewers}
    presence_changed = {c for c, _ in before ^ viewers if c in shown_set}
    newest = max((micros for *_, micros in fresh_changes), default=0)
    all_changes = [(pk, micros) for pk, _, micros in fresh_changes] + list(handled)
    counts = None
    rows: list[Conversation] = []
    removed: list[int] = []
    presence = None
    candidates = visible_changes | presence_changed
    if visible_changes or candidates:
        # more than the probe: under the poll's own, shorter timeout
        with statement_timeout(settings.DATABASE_POLL_TIMEOUT):
            if visible_changes:
                counts = tab_counts(user, company, flt, with_changes=False)
                if counts.numbers == tuple(token.counts):
                    counts = None
            if candidates:
                rows, removed, presence = _changed_rows(
                    user, company, flt, candidates, shown_set=shown_set, through=through
                )
        if presence is not None:
            viewers = {pair for pair in viewers if pair[0] not in presence_changed} | set(
                presence.pairs
            )
    viewers = {pair for pair in viewers if pair[0] not in removed}
    new_token = ListToken.after(
        _from_micros(newest) if newest else None,
        all_changes,
        viewers=viewers,
        counts=counts.numbers if counts else tuple(token.counts),
        top=token.top,
    )
    return ListChanges(
        token=new_token, rows=rows, removed=removed, counts=counts, presence=presence
    )


def conversation_exists(company: Company, conversation_id: int) -> bool:
    return Conversation.objects.for_company(company).filter(pk=conversation_id).exists()


def conversation_for(user: User, company: Company, conversation_id: int) -> Conversation:
    """The open conversation with its customer, inbox and assignee (DoesNotExist if `user` may
    not see it: the view answers 404; `may_work_on` says whether it is read-only to them)."""
    return (
        visible_conversations(user, company)
        .select_related("customer", "inbox", "assigned_user")
        .get(pk=conversation_id)
    )


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]  # oldest first
    has_earlier: bool

    @property
    def newest_id(self) -> int | None:
        return self.messages[-1].pk if self.messages else None


def chat_messages(
    conversation: Conversation, *, before_id: int | None = None, limit: int = CHAT_PAGE_SIZE
) -> MessagePage:
    """The latest `limit` messages (or those before `before_id`), shown oldest to newest."""
    messages = Message.objects.filter(
        company_id=conversation.company_id, conversation=conversation
    ).select_related("sender_user")
    if before_id is not None:
        pivot = messages.filter(pk=before_id).values("timestamp")[:1]
        messages = messages.filter(
            Q(timestamp__lt=Subquery(pivot)) | Q(timestamp=Subquery(pivot), pk__lt=before_id)
        )
    newest_first = list(messages.order_by("-timestamp", "-id")[: limit + 1])
    return MessagePage(
        messages=with_message_details(list(reversed(newest_first[:limit]))),
        has_earlier=len(newest_first) > limit,
    )


def messages_after(conversation: Conversation, after_id: int) -> list[Message]:
    return with_message_details(
        list(
            Message.objects.filter(
                company_id=conversation.company_id, conversation=conversation, pk__gt=after_id
            )
            .select_related("sender_user")
            .order_by("timestamp", "id")[:200]
        )
    )


def with_message_details(messages: list[Message]) -> list[Message]:
    """What the chat shows beside a message's text: its files (`message.files`) and the message
    it answers or reacts to (`message.quoted`), and the customer's reaction to it when that is on
    the same page (`message.reaction`). One query each, only when some message has
    them, scoped to the company (no query at all for a chat of plain text)."""
    if not messages:
        return messages
    company_id = messages[0].company_id
    with_files = [m.pk for m in messages if m.kind in MEDIA_KINDS or m.payload.get("files")]
    files: dict[int, list[MessageAttachment]] = {}
    if with_files:
        for attachment in MessageAttachment.objects.filter(
            company_id=company_id, message_id__in=with_files
        ).order_by("id"):
            files.setdefault(attachment.message_id, []).append(attachment)
    quoted_ids = {m.reply_to_id for m in messages if m.reply_to_id}
    quoted = (
        Message.objects.filter(company_id=company_id, pk__in=quoted_ids).in_bulk()
        if quoted_ids
        else {}
    )
    shown = {message.pk: message for message in messages}
    for message in messages:
        message.files = files.get(message.pk, [])
        message.quoted = quoted.get(message.reply_to_id)
        message.reaction = ""
    for message in messages:  # oldest first: the customer's latest reaction wins ("" removes it)
        if message.kind == Message.Kind.REACTION and message.reply_to_id in shown:
            shown[message.reply_to_id].reaction = (message.payload or {}).get("emoji", "")
    return messages


def attachment_for(user: User, company: Company, attachment_id: int) -> MessageAttachment:
    """A stored file of a conversation `user` may see (DoesNotExist otherwise: a 404)."""
    attachment = MessageAttachment.objects.filter(
        company_id=company.pk, pk=attachment_id, state=MessageAttachment.State.STORED
    ).get()
    conversation_id = (
        Message.objects.filter(company_id=company.pk, pk=attachment.message_id)
        .values_list("conversation_id", flat=True)
        .get()
    )
    if not visible_conversations(user, company).filter(pk=conversation_id).exists():
        raise MessageAttachment.DoesNotExist("Not in this user's view.")
    return attachment


# how far before the previous poll's token a status change is looked for again: a change
# committed late (its transaction began before the token's) is still re-rendered
DELIVERY_CHANGE_MARGIN = timedelta(seconds=30)


def changed_since(version: str) -> datetime | None:
    """When the chat state a poll sent back (`ChatState.version`) was taken, less a margin."""
    stamp = version.split("|", 1)[0]
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if timezone.is_naive(moment):
        return None
    return moment - DELIVERY_CHANGE_MARGIN


def delivery_changes(
    conversation: Conversation, since: datetime, *, through_id: int
) -> list[Message]:
    """Agent messages up to `through_id` (those the chat shows) whose delivery status changed
    since `since`, for the poll to re-render their status alone."""
    return list(
        Message.objects.filter(
            company_id=conversation.company_id,
            conversation=conversation,
            status_changed_at__gt=since,
            sender_type=Message.SenderType.AGENT,
            pk__lte=through_id,
        )
        .select_related("sender_user")
        .order_by("id")[:100]
    )


@dataclass(frozen=True)
class ChatState:
    version: str
    viewers: list[str]


def see_conversation(
    user: User, company: Company, conversation_id: int, *, opening: bool = False
) -> ChatState | None:
    """Record that `user` has the conversation open and read its change token and the colleagues
    viewing it. None if `user` may not see it.

    A poll costs one statement once the agent's viewer row exists (the chat page makes it): an
    UPDATE of that row, joined to the conversation, RETURNING the token and the viewers, which
    Citus routes whole to the company's shard. Opening the chat (`opening`) reads, then upserts
    the row: two statements.
    """
    visible = (
        "c.assigned_user_id = %(user)s OR c.assigned_user_id IS NULL"
        if sees_only_own_and_unassigned(user)
        else "TRUE"
    )
    viewers = """coalesce((
            SELECT array_agg(coalesce(nullif(u.first_name, ''), u.email) ORDER BY u.first_name, u.id)
            FROM conversations_conversationviewer o JOIN accounts_user u ON u.id = o.user_id
            WHERE o.company_id = %(company)s AND o.conversation_id = c.id
              AND o.seen_at > %(fresh)s AND o.user_id <> %(user)s), '{}')"""
    now = timezone.now()
    params = {
        "company": company.pk,
        "conversation": conversation_id,
        "user": user.pk,
        "now": now,
        "fresh": now - VIEWER_TTL,
    }
    with connection.cursor() as cursor:
        row = None
        if not opening:
            cursor.execute(
                f"""UPDATE conversations_conversationviewer v SET seen_at = %(now)s
                FROM conversations_conversation c
                WHERE v.company_id = %(company)s AND c.company_id = %(company)s
                  AND c.id = %(conversation)s AND v.conversation_id = c.id
                  AND v.user_id = %(user)s AND ({visible})
                RETURNING c.updated_at, {viewers}""",
                params,
            )
            row = cursor.fetchone()
        if row is None:
            cursor.execute(
                f"""SELECT c.updated_at, {viewers} FROM conversations_conversation c
                    WHERE c.company_id = %(company)s AND c.id = %(conversation)s AND ({visible})""",
                params,
            )
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute(
                """INSERT INTO conversations_conversationviewer
                       (company_id, conversation_id, user_id, seen_at)
                   VALUES (%(company)s, %(conversation)s, %(user)s, %(now)s)
                   ON CONFLICT (company_id, conversation_id, user_id)
                   DO UPDATE SET seen_at = EXCLUDED.seen_at""",
                params,
            )
    updated_at, names = row
    return ChatState(version=f"{updated_at.isoformat()}|{','.join(names)}", viewers=list(names))


def customer_conversations(
    user: User, company: Company, customer: Customer, *, exclude_id: int, limit: int = 10
) -> list[Conversation]:
    """The customer's other conversations `user` may open, newest first, for the customer panel."""
    return list(
        visible_conversations(user, company)
        .filter(customer=customer)
        .exclude(pk=exclude_id)
        .order_by("-last_message_at", "-id")[:limit]
    )


def customer_history(user: User, company: Company, customer: Customer) -> QuerySet[Conversation]:
    """Every conversation of the customer that `user` may open, across channels, newest first,
    with what a list row shows (the customer page pages through it)."""
    return with_row_fields(
        visible_conversations(user, company).filter(customer=customer), company
    ).order_by("-last_message_at", "-id")


def assignable_users(company: Company) -> list[User]:
    from conversations.services import assignable_users_q

    return list(User.objects.filter(assignable_users_q(company.pk)).order_by("first_name", "id"))


def default_reply_cc(conversation: Conversation) -> str | None:
    """Who else a reply goes to, to start with (the agent may edit it): the To and Cc of the
    customer's latest mail, without this inbox's own address. None for channels without Cc."""
    from inboxes.channels import adapter_for

    if conversation.inbox is None or not adapter_for(conversation.inbox).threads_by_reference:
        return None
    payload = (
        Message.objects.filter(
            company_id=conversation.company_id,
            conversation=conversation,
            sender_type=Message.SenderType.CUSTOMER,
        )
        .order_by("-id")
        .values_list("payload", flat=True)
        .first()
    ) or {}
    own = (conversation.inbox.credentials.get("email_address") or "").lower()
    customer = (conversation.customer.email or "").lower()
    others = [
        address
        for address in [*(payload.get("to") or []), *(payload.get("cc") or [])]
        if address not in (own, customer)
    ]
    return ", ".join(dict.fromkeys(others))
