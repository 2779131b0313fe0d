"""Reads of conversations and messages, always scoped to a company and, for agents, to what they
may work on. The inbox's hot paths (list, tab counts, polls) run a fixed number of statements
whatever the number of rows, and never OFFSET."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr
from django.utils import timezone

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
from hub.search import parse_search

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


# Search picks its plan by how many rows match, because no single plan is fast at both ends:
# few matches are best fetched by id through the full-text indexes, many matches are best found
# by walking the list newest-first and checking each conversation until the page is full.
FEW_CUSTOMERS = 1000
SOME_MESSAGES = 50_000


def _estimated_rows(queryset: QuerySet) -> int:
    """PostgreSQL's own estimate (from the full-text index statistics), without running it."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def _searched(conversations: QuerySet, company: Company, text: str) -> QuerySet:
    """Conversations whose customer (name or any identity) or any message matches `text`."""
    search = parse_search(text)
    if search is None:
        return conversations
    customers = (
        search.apply(
            Customer.objects.for_company(company),
            document=customer_search_vector(),
            text=customer_search_text(),
        )
        .order_by()
        .values_list("id", flat=True)
    )
    few_customers = list(customers[: FEW_CUSTOMERS + 1])
    if len(few_customers) <= FEW_CUSTOMERS:
        by_customer = Q(customer_id__in=few_customers)
    else:
        by_customer = Q(customer_id__in=customers)
    if search.query is None:
        # only punctuation was typed: no message word to look up, and a scan of every message
        # for it would be unbounded; customers' names and identities still match
        return conversations.filter(by_customer)
    messages = search.apply(
        Message.objects.for_company(company), document=message_search_vector(), text="content"
    )
    matching_ids = messages.order_by().values("conversation_id")
    estimate = _estimated_rows(matching_ids)
    if estimate <= SOME_MESSAGES:
        # Fetch the matching conversation ids once, as a typed constant array: PostgreSQL hashes
        # it, then either fetches the few by id or walks the list newest-first testing each row
        # in O(1), stopping when the page is full. (An IN (subquery) here gets planned as a
        # per-row message check, which is slow when matches are rare.)
        ids = sorted(set(matching_ids.values_list("conversation_id", flat=True)))
        by_message = RawSQL(
            '"conversations_conversation"."id" = ANY(%s::bigint[])',
            [ids],
            output_field=BooleanField(),
        )
    else:
        by_message = Exists(messages.filter(company_id=company.pk, conversation_id=OuterRef("pk")))
    return conversations.filter(by_customer | by_message)


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
    return conversations.select_related("customer", "assigned_user").annotate(
        preview=Substr(Subquery(latest.values("content")[:1]), 1, 140),
        preview_sender=Subquery(latest.values("sender_type")[:1]),
    )


def conversation_row(user: User, company: Company, conversation_id: int) -> Conversation:
    """One list row, as the list renders it (DoesNotExist if `user` may not see it)."""
    return with_row_fields(visible_conversations(user, company), company).get(pk=conversation_id)


UNREAD_CAP = 99


def unread_conversations(user: User, company: Company) -> int:
    """How many open conversations `user` works on (their own and the unassigned queue; all for
    admins) have unread customer messages, capped at UNREAD_CAP + 1: the tab title's count."""
    conversations = Conversation.objects.for_company(company).filter(
        unread_count__gt=0, status__in=Conversation.OPEN_STATUSES
    )
    if user.is_agent:
        conversations = conversations.filter(Q(assigned_user=user) | Q(assigned_user__isnull=True))
    return len(conversations.order_by().values_list("pk", flat=True)[: UNREAD_CAP + 1])


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
    conversations = _searched(_filtered(user, company, flt, tab=flt.tab), company, flt.q)
    conversations = with_row_fields(conversations, company)
    if after is not None:
        conversations = conversations.filter(after.older())
    limit = PAGE_SIZE
    if through is not None:
        conversations = conversations.filter(through.not_older())
        limit = 20 * PAGE_SIZE
    rows = list(conversations.order_by("-last_message_at", "-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = Cursor(rows[-1].last_message_at, rows[-1].pk) if rows and has_more else None
    return InboxPage(rows=rows, next_cursor=next_cursor)


@dataclass(frozen=True)
class TabCounts:
    mine: int
    unassigned: int
    all: int
    version: str

    @staticmethod
    def label(n: int) -> str:
        return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)

    def labels(self) -> dict[str, str]:
        return {tab: self.label(getattr(self, tab)) for tab in TABS}


def _version_sql(user: User, company_id: int) -> tuple[str, list]:
    """SQL of the list's change token: newest conversation change plus who views what."""
    sql = (
        "(SELECT max(updated_at) FROM conversations_conversation WHERE company_id = %s)::text"
        " || '|' || coalesce((SELECT string_agg(conversation_id || ':' || user_id, ','"
        " ORDER BY conversation_id, user_id) FROM conversations_conversationviewer"
        " WHERE company_id = %s AND seen_at > %s AND user_id <> %s), '')"
    )
    return sql, [company_id, company_id, timezone.now() - VIEWER_TTL, user.pk]


def list_version(user: User, company: Company) -> str:
    """The token an unchanged list poll compares against: one indexed statement."""
    sql, params = _version_sql(user, company.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return cursor.fetchone()[0] or ""


def _status_only(flt: InboxFilter) -> InboxFilter:
    return InboxFilter(tab=flt.tab, status=flt.status)


def tab_counts(user: User, company: Company, flt: InboxFilter) -> TabCounts:
    """How many conversations each tab holds in the chosen status, each count capped at
    COUNT_CAP + 1 rows and served by an index, plus the list's change token: one statement.

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
    version_sql, version_params = _version_sql(user, company.pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}, {version_sql}", [*params, *version_params])
        mine, unassigned, everything, version = cursor.fetchone()
    return TabCounts(mine=mine, unassigned=unassigned, all=everything, version=version or "")


@dataclass(frozen=True)
class RowPresence:
    """For a page of rows: colleagues viewing each conversation right now, and when this user
    last had each one open (to mark rows with messages since)."""

    viewers: dict[int, list[str]]
    seen_at: dict[int, datetime]

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
    rows = (
        ConversationViewer.objects.for_company(company)
        .filter(conversation_id__in=conversation_ids)
        .filter(Q(user=user) | Q(seen_at__gt=timezone.now() - VIEWER_TTL))
        .values_list("conversation_id", "user_id", "seen_at", "user__first_name", "user__email")
        .order_by("conversation_id", "user__first_name")
    )
    for conversation_id, user_id, seen, first_name, email in rows:
        if user_id == user.pk:
            seen_at[conversation_id] = seen
        else:
            viewers.setdefault(conversation_id, []).append(first_name or email)
    return RowPresence(viewers=viewers, seen_at=seen_at)


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
    with_files = [m.pk for m in messages if m.kind in MEDIA_KINDS]
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
