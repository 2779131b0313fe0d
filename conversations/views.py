"""The agent inbox: list, chat pane, customer panel and their HTMX partials and polls.

Every view is thin: parse (a form, before anything else), call one selector or service, render a
partial of conversations/inbox.html. Another company's conversation, or one the company keeps
from an agent, is a 404; a colleague's conversation is read-only to an agent (403 with the reason
on any change).
"""

from datetime import datetime

from django.contrib import messages as flash
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.decorators import company_required, role_required
from accounts.models import Role
from conversations import selectors, services
from conversations.forms import (
    AssignForm,
    CustomerProfileForm,
    EarlierForm,
    ListPollForm,
    MoreConversationsForm,
    PollForm,
    ReplyForm,
    StartConversationForm,
    StatusForm,
    UndoHandoverForm,
)
from conversations.models import Conversation, Message
from customers.selectors import customers_of
from customers.services import update_customer_profile
from hub.database import StatementTimedOut
from hub.forms import InvalidInput, add_service_errors, first_error, parse
from inboxes.models import Channel
from inboxes.selectors import inboxes_of

TEMPLATE = "conversations/inbox.html"
LIST_VERSION_HEADER = "X-List-Version"  # a 204 poll's new token (static/js/app.js keeps it)
inbox_staff = role_required(Role.AGENT, Role.COMPANY_ADMIN)
NOT_IN_VIEW = "This conversation is not in your view any more. Go back to the inbox."
STATUS_FILTER_LABELS = {"open": "Open", "any": "Any status", "in-progress": "In progress"}
# the keyboard shortcuts static/js/app.js handles, as the "?" dialog lists them (and the README)
SHORTCUTS = [
    (["?"], "Show these shortcuts"),
    (["/"], "Search conversations"),
    (["j", "k"], "Next / previous conversation in the list (Enter opens it)"),
    (["n"], "Open the next conversation with unread messages"),
    (["r"], "Reply: go to the message box"),
    (["Esc"], "Leave the message box; close the customer panel or this dialog"),
    (["e"], "Resolve the open conversation"),
    (["a"], "Assign the open conversation to me"),
]


def _filter(request: HttpRequest) -> selectors.InboxFilter:
    default_tab = "mine" if request.user.is_agent else "all"
    return selectors.InboxFilter.from_query(request.GET, default_tab=default_tab)


def _conversation_or_404(request: HttpRequest, pk: int) -> Conversation:
    try:
        return selectors.conversation_for(request.user, request.company, pk)
    except Conversation.DoesNotExist as missing:
        raise Http404(NOT_IN_VIEW) from missing


def _row_context(
    request: HttpRequest,
    rows: list[Conversation],
    presence: selectors.RowPresence | None = None,
) -> dict:
    if presence is None:
        presence = selectors.row_presence(request.user, request.company, [c.pk for c in rows])
    return {
        "viewers": presence.viewers,
        "changed": presence.changed_since_seen(rows),
        "presence": presence,
    }


SEARCH_TIMED_OUT = (
    "This search took too long and was stopped. Try a longer or rarer word, a whole email "
    "address or phone number, or narrow the list with the filters."
)
POLL_TIMED_OUT = "The hub is slow to answer."


def _list_context(
    request: HttpRequest,
    flt: selectors.InboxFilter,
    *,
    open_id: int | None,
    through: selectors.Cursor | None = None,
) -> dict:
    # counted first: the token's starting point is then older than anything the page shows
    counts = selectors.tab_counts(request.user, request.company, flt)
    search_timed_out = False
    try:
        page = selectors.inbox_page(request.user, request.company, flt, through=through)
    except selectors.SearchTimedOut:
        page, search_timed_out = selectors.InboxPage(rows=[], next_cursor=None), True
    row_context = _row_context(request, page.rows)
    token = selectors.ListToken.after(
        counts.newest_change,
        counts.recent_changes,
        viewers=row_context["presence"].pairs,
        counts=counts.numbers,
    )
    return {
        "flt": flt,
        "query": urlencode({k: v for k, v in flt.as_query().items() if v}),
        "tab_query": urlencode({k: v for k, v in flt.as_query().items() if v and k != "tab"}),
        "page": page,
        "search_timed_out": search_timed_out,
        "search_timed_out_text": SEARCH_TIMED_OUT,
        "counts": counts,
        "count_labels": counts.labels(),
        "unread_total": counts.unread_label,
        "list_token": str(token),
        **row_context,
        "open_id": open_id,
        "channels": Channel.choices,
        "status_filters": [
            (value, STATUS_FILTER_LABELS.get(value, value.capitalize()))
            for value in selectors.STATUS_FILTERS
        ],
    }


def _header_context(
    request: HttpRequest,
    conversation: Conversation,
    state: selectors.ChatState | None = None,
    *,
    opening: bool = False,
) -> dict:
    """What the chat header shows: who else is viewing, and the controls if `request.user` may
    work on the conversation (a colleague's is read-only to an agent)."""
    can_work = selectors.may_work_on(request.user, conversation)
    return {
        "conversation": conversation,
        "state": state
        or selectors.see_conversation(
            request.user, request.company, conversation.pk, opening=opening
        ),
        "can_work": can_work,
        "assignees": selectors.assignable_users(request.company) if can_work else [],
        "status_choices": Conversation.Status.choices,
    }


def _chat_context(request: HttpRequest, conversation: Conversation) -> dict:
    page = selectors.chat_messages(conversation)
    return {
        **_header_context(request, conversation, opening=True),
        "chat": page,
        "last_seen": page.newest_id or 0,
        "other_conversations": selectors.customer_conversations(
            request.user, request.company, conversation.customer, exclude_id=conversation.pk
        ),
    }


@inbox_staff
@company_required
@require_GET
@vary_on_headers("HX-Target")
def inbox(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The inbox page, with a conversation open when `pk` is given. HTMX asks the same URL for
    the list alone (filters, tabs, polls) or the chat column alone (opening a row), so the
    answer varies by HX-Target as well as HX-Request."""
    flt = _filter(request)
    target = request.htmx.target if request.htmx else None
    if target == "conversation-list":
        return _conversation_list(request, flt, open_id=pk)
    conversation = _conversation_or_404(request, pk) if pk is not None else None
    if target == "chat-column" and conversation is not None:
        return render(request, f"{TEMPLATE}#chat_column", _chat_context(request, conversation))
    context = {**_list_context(request, flt, open_id=pk), "shortcuts": SHORTCUTS}
    if conversation is not None:
        context.update(_chat_context(request, conversation))
    return render(request, TEMPLATE, context)


def _conversation_list(
    request: HttpRequest, flt: selectors.InboxFilter, *, open_id: int | None
) -> HttpResponse:
    """The list partial. A poll sends the token it rendered with (`v`), the rows it shows and
    how far down: unchanged for this user, it gets 204 after one statement; otherwise only the
    rows that changed, the numbers and a new token, each swapped into place (#list-updates)."""
    params = parse(ListPollForm, request.GET)
    token = selectors.ListToken.parse(params["v"]) if "v" in request.GET else None
    if token is not None:
        try:
            changes = selectors.list_changes(
                request.user,
                request.company,
                flt,
                token,
                shown=params["shown"],
                through=params["through"],
            )
        except StatementTimedOut:
            return HttpResponse(POLL_TIMED_OUT, status=503, content_type="text/plain")
        except selectors.ListTooChanged:
            pass  # render the list whole
        else:
            if not (changes.rows and not params["shown"]):  # rows for an empty list: render it
                return _list_updates(request, flt, changes, open_id=open_id)
    context = _list_context(request, flt, open_id=open_id, through=params["through"])
    return render(request, f"{TEMPLATE}#conversation_list", context)


def _list_updates(
    request: HttpRequest,
    flt: selectors.InboxFilter,
    changes: selectors.ListChanges,
    *,
    open_id: int | None,
) -> HttpResponse:
    if changes.unchanged:
        response = HttpResponse(status=204)
        response[LIST_VERSION_HEADER] = str(changes.token)
        return response
    context = {
        "flt": flt,
        "query": urlencode({k: v for k, v in flt.as_query().items() if v}),
        "tab_query": urlencode({k: v for k, v in flt.as_query().items() if v and k != "tab"}),
        "rows": changes.rows,
        "removed": changes.removed,
        "open_id": open_id,
        "list_token": str(changes.token),
        **_row_context(request, changes.rows, changes.presence),
    }
    if changes.counts is not None:
        context.update(
            counts=changes.counts,
            count_labels=changes.counts.labels(),
            unread_total=changes.counts.unread_label,
        )
    response = render(request, f"{TEMPLATE}#list_updates", context)
    response["HX-Reswap"] = "none"  # everything in it is swapped out of band
    return response


@inbox_staff
@company_required
@require_GET
def more_conversations(request: HttpRequest) -> HttpResponse:
    """ "Load more": the rows below a cursor (keyset pagination, never OFFSET)."""
    params = parse(MoreConversationsForm, request.GET)
    flt = _filter(request)
    try:
        page = selectors.inbox_page(request.user, request.company, flt, after=params["after"])
    except selectors.SearchTimedOut:
        return HttpResponse(SEARCH_TIMED_OUT, status=503, content_type="text/plain")
    return render(
        request,
        f"{TEMPLATE}#conversation_rows",
        {
            "flt": flt,
            "query": urlencode({k: v for k, v in flt.as_query().items() if v}),
            "page": page,
            **_row_context(request, page.rows),
            "open_id": params["open"],
            "appending": True,
        },
    )


@inbox_staff
@company_required
@require_GET
def chat_poll(request: HttpRequest, pk: int) -> HttpResponse:
    """Every 5 s: one statement records that this agent is viewing and reads the change token.
    Unchanged: 204. Changed: the new messages, header and poller, each swapped into place."""
    params = parse(PollForm, request.GET)
    state = selectors.see_conversation(request.user, request.company, pk)
    if state is None:
        if not selectors.conversation_exists(request.company, pk):
            raise Http404(NOT_IN_VIEW)
        # still in the company, but assigned away from this agent: say so, stop polling
        return render(request, f"{TEMPLATE}#chat_gone", {"last_seen": params["last_seen"]})
    if params["v"] == state.version:
        return HttpResponse(status=204)
    conversation = _conversation_or_404(request, pk)
    since = selectors.changed_since(params["v"]) if params["v"] else None
    return _chat_update(request, conversation, params, state=state, statuses_since=since)


def _chat_update(
    request: HttpRequest,
    conversation: Conversation,
    chat_state: dict,
    *,
    state: selectors.ChatState | None = None,
    new_messages: list[Message] | None = None,
    composer: dict | None = None,
    notice: dict | None = None,
    with_row: bool = False,
    status: int = 200,
    statuses_since: datetime | None = None,
) -> HttpResponse:
    """A response that swaps the poller and, out of band, appends the messages newer than the
    newest the chat showed (`chat_state["last_seen"]`), refreshes the header and the chat state,
    and swaps the composer when given or when the conversation became writable or read-only
    for this user since the chat rendered it (`chat_state["rw"]`). A poll (`statuses_since`)
    also re-renders the delivery status of shown messages whose status changed."""
    last_seen = chat_state.get("last_seen") or 0
    if new_messages is None:
        new_messages = selectors.messages_after(conversation, last_seen)
    newest = new_messages[-1].pk if new_messages else last_seen
    delivery_changes = []
    if statuses_since is not None and last_seen:
        delivery_changes = selectors.delivery_changes(
            conversation, statuses_since, through_id=last_seen
        )
    header = _header_context(request, conversation, state)
    can_work = header["can_work"]
    shown_rw = chat_state.get("rw")
    context = {
        **header,
        "new_messages": new_messages,
        "delivery_changes": delivery_changes,
        "last_seen": max(newest, last_seen),
        "composer": composer,
        "swap_composer": composer is not None or (shown_rw is not None and shown_rw != can_work),
        "keep_draft": composer is None,
        "notice": notice,
    }
    if with_row:  # an action changed what the list row shows: refresh it at once
        context.update(_rows_context(request, [conversation.pk], open_id=conversation.pk))
    return render(request, f"{TEMPLATE}#chat_update", context, status=status)


def _rows_context(request: HttpRequest, ids: list[int], *, open_id: int | None) -> dict:
    """List rows to refresh in place (#row-updates), rendered as the list renders them."""
    rows = [selectors.conversation_row(request.user, request.company, pk) for pk in ids]
    return {"rows": rows, "open_id": open_id, **_row_context(request, rows)}


@inbox_staff
@company_required
@require_GET
def earlier_messages(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    params = parse(EarlierForm, request.GET)
    page = selectors.chat_messages(conversation, before_id=params["before"])
    return render(
        request, f"{TEMPLATE}#earlier_messages", {"conversation": conversation, "chat": page}
    )


@inbox_staff
@company_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Send from the composer. The draft comes back in the box on any error; a colleague's
    conversation (read-only) is refused with 403 and the reason."""
    conversation = _conversation_or_404(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    draft = request.POST.get("content", "")
    if not form.is_valid():
        composer = {"draft": draft, "error": first_error(form), "cc": request.POST.get("cc")}
        return _chat_update(request, conversation, {}, composer=composer, status=422)
    chat_state = form.cleaned_data
    try:
        services.send_agent_reply(
            request.user,
            company_id=request.company.pk,
            conversation_id=conversation.pk,
            content=chat_state["content"],
            last_seen_message_id=chat_state["last_seen"],
            attachment=chat_state["attachment"],
            reply_to_id=chat_state["reply_to"],
            cc=chat_state["cc"],
        )
    except Conversation.DoesNotExist as missing:
        raise Http404(NOT_IN_VIEW) from missing
    except ValidationError as error:
        composer = {
            "draft": draft,
            "error": error.messages[0],
            "reply_to": chat_state["reply_to"],
        }
        return _chat_update(request, conversation, chat_state, composer=composer, status=422)
    except services.NewActivity as activity:
        composer = {
            "draft": draft,
            "error": activity.message,
            "is_guard": True,
            "reply_to": chat_state["reply_to"],
        }
        return _chat_update(
            request,
            conversation,
            chat_state,
            new_messages=selectors.with_message_details(activity.new_messages),
            composer=composer,
            status=409,
        )
    conversation = _conversation_or_404(request, pk)
    return _chat_update(
        request, conversation, chat_state, composer={"draft": "", "sent": True}, with_row=True
    )


@inbox_staff
@company_required
@require_POST
def retry(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    try:
        message = services.retry_delivery(
            request.user,
            company_id=request.company.pk,
            conversation_id=conversation.pk,
            message_id=message_pk,
        )
    except ObjectDoesNotExist as missing:
        raise Http404("That message is not in this conversation.") from missing
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from error
    [message] = selectors.with_message_details([message])
    return render(
        request, f"{TEMPLATE}#message", {"message": message, "conversation": conversation}
    )


def _after_change(
    request: HttpRequest, pk: int, chat_state: dict, *, notice: dict | None = None
) -> HttpResponse:
    """The chat after a status or assignment change. A page without JavaScript goes back to the
    conversation; one that has left this user's view says so (with the undo, if any)."""
    try:
        conversation = selectors.conversation_for(request.user, request.company, pk)
    except Conversation.DoesNotExist:
        if not request.htmx:
            flash.success(request, "Done. That conversation is no longer in your view.")
            return redirect("conversations:inbox")
        context = {
            "notice": notice,
            "conversation_id": pk,
            "last_seen": chat_state.get("last_seen"),
        }
        return render(request, f"{TEMPLATE}#chat_gone", context)
    if not request.htmx:
        flash.success(request, "Saved.")
        return redirect("conversations:conversation", pk=pk)
    return _chat_update(request, conversation, chat_state, notice=notice, with_row=True)


@inbox_staff
@company_required
@require_POST
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    _conversation_or_404(request, pk)
    params = parse(StatusForm, request.POST)
    try:
        services.change_status(
            request.user, company_id=request.company.pk, conversation_id=pk, status=params["status"]
        )
    except Conversation.DoesNotExist as missing:
        raise Http404(NOT_IN_VIEW) from missing
    return _after_change(request, pk, params)


@inbox_staff
@company_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign (an explicit choice: a button or Enter, never a select's change); handing a
    conversation to someone else offers an Undo."""
    before = _conversation_or_404(request, pk)
    params = parse(AssignForm, request.POST)
    assignee = request.user.pk if params["assignee"] == "me" else params["assignee"]
    try:
        conversation = services.assign_conversation(
            request.user, company_id=request.company.pk, conversation_id=pk, assignee_id=assignee
        )
    except Conversation.DoesNotExist as missing:
        raise Http404(NOT_IN_VIEW) from missing
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from error
    notice = None
    if assignee != request.user.pk and assignee != before.assigned_user_id:
        notice = {
            "kind": "handover",
            "conversation_id": pk,
            "to": conversation.assigned_user,
            "token": services.handover_undo_token(
                request.user, conversation, previous_id=before.assigned_user_id
            ),
        }
    return _after_change(request, pk, params, notice=notice)


@inbox_staff
@company_required
@require_POST
def undo_handover(request: HttpRequest, pk: int) -> HttpResponse:
    params = parse(UndoHandoverForm, request.POST)
    try:
        conversation = services.undo_handover(
            request.user, company_id=request.company.pk, conversation_id=pk, token=params["token"]
        )
    except Conversation.DoesNotExist as missing:
        raise Http404(NOT_IN_VIEW) from missing
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from error
    notice = {"kind": "undone", "conversation_id": pk, "to": conversation.assigned_user}
    return _after_change(request, pk, params, notice=notice)


@inbox_staff
@company_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    _conversation_or_404(request, pk)
    try:
        services.mark_conversation_read(
            request.user, company_id=request.company.pk, conversation_id=pk
        )
        context = _rows_context(request, [pk], open_id=pk)
    except Conversation.DoesNotExist as missing:
        raise Http404(NOT_IN_VIEW) from missing
    return render(request, f"{TEMPLATE}#row_updates", context)


@inbox_staff
@company_required
@require_POST
def edit_customer(request: HttpRequest, pk: int) -> HttpResponse:
    """Name and VIP, edited in place from the customer panel of conversation `pk`; the new name
    reaches the chat header and the list row at once (and other pollers on their next poll)."""
    conversation = _conversation_or_404(request, pk)
    form = CustomerProfileForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            update_customer_profile(
                request.user,
                company_id=request.company.pk,
                customer_id=conversation.customer_id,
                name=form.cleaned_data["name"],
                is_vip=form.cleaned_data["is_vip"],
            )
        except ValidationError as invalid:
            error = invalid.messages[0]
    else:
        error = "Enter the customer's name (up to 200 characters)."
    conversation = _conversation_or_404(request, pk)
    context = {
        **_header_context(request, conversation),
        "other_conversations": selectors.customer_conversations(
            request.user, request.company, conversation.customer, exclude_id=conversation.pk
        ),
        "customer_error": error,
        "customer_saved": not error,
        "customer_draft": request.POST.get("name", "") if error else None,
        **_rows_context(request, [pk], open_id=pk),
    }
    return render(request, f"{TEMPLATE}#customer_saved", context, status=422 if error else 200)


@inbox_staff
@company_required
def start(request: HttpRequest) -> HttpResponse:
    """Start a conversation: write the first message, or log a phone call."""
    form = StartConversationForm(request.POST or None, initial={"mode": "existing"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        new_customer = None
        if data["mode"] == "new":
            new_customer = services.NewCustomer(
                name=data["name"],
                email=data["email"],
                phone=data["phone"],
                whatsapp_number=data["whatsapp_number"],
                instagram_handle=data["instagram_handle"],
                facebook_id=data["facebook_id"],
            )
        try:
            conversation = services.start_conversation(
                request.user,
                company_id=request.company.pk,
                channel=data["channel"],
                customer_id=data["customer"] if data["mode"] == "existing" else None,
                new_customer=new_customer,
                inbox_id=data["inbox"],
                subject=data["subject"],
                content=data["content"],
            )
        except ValidationError as invalid:
            add_service_errors(form, invalid)
        else:
            flash.success(request, "Conversation started.")
            return redirect("conversations:conversation", pk=conversation.pk)
    chosen = None
    if form.is_bound and form.cleaned_data.get("customer"):
        chosen = customers_of(request.company).filter(pk=form.cleaned_data["customer"]).first()
    return render(
        request,
        "conversations/start.html",
        {
            "form": form,
            "inboxes": inboxes_of(request.company).filter(is_active=True),
            "chosen_customer": chosen,
        },
        status=422 if request.method == "POST" else 200,
    )


@inbox_staff
@company_required
@require_GET
def customer_choices(request: HttpRequest) -> HttpResponse:
    """Customers matching what was typed, for the start form (ten at most)."""
    from customers.selectors import search_customers

    customers = search_customers(request.company, request.GET.get("q", ""))[:10]
    return render(request, "conversations/start.html#customer_choices", {"customers": customers})
