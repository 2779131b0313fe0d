"""The agent inbox: list, chat pane, customer panel and their HTMX partials and polls.

Every view is thin: parse, call one selector or service, render a partial of
conversations/inbox.html. Another company's conversation, or another agent's, is a 404.
"""

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.decorators import company_required, role_required
from accounts.models import Role
from conversations import selectors, services
from conversations.forms import (
    AssignForm,
    CustomerProfileForm,
    ReplyForm,
    StartConversationForm,
    StatusForm,
)
from conversations.models import Conversation
from customers.selectors import customers_of
from customers.services import update_customer_profile
from hub.forms import add_service_errors
from inboxes.models import Channel
from inboxes.selectors import inboxes_of

TEMPLATE = "conversations/inbox.html"
inbox_staff = role_required(Role.AGENT, Role.COMPANY_ADMIN)


def _filter(request: HttpRequest) -> selectors.InboxFilter:
    default_tab = "mine" if request.user.is_agent else "all"
    return selectors.InboxFilter.from_query(request.GET, default_tab=default_tab)


def _conversation_or_404(request: HttpRequest, pk: int) -> Conversation:
    try:
        return selectors.conversation_for(request.user, request.company, pk)
    except Conversation.DoesNotExist as missing:
        raise Http404("No such conversation.") from missing


def _list_context(
    request: HttpRequest,
    flt: selectors.InboxFilter,
    *,
    open_id: int | None,
    through: selectors.Cursor | None = None,
) -> dict:
    page = selectors.inbox_page(request.user, request.company, flt, through=through)
    counts = selectors.tab_counts(request.user, request.company, flt)
    return {
        "flt": flt,
        "query": urlencode({k: v for k, v in flt.as_query().items() if v}),
        "tab_query": urlencode({k: v for k, v in flt.as_query().items() if v and k != "tab"}),
        "page": page,
        "counts": counts,
        "count_labels": counts.labels(),
        "viewers": selectors.viewers_by_conversation(
            request.user, request.company, [c.pk for c in page.rows]
        ),
        "open_id": open_id,
        "channels": Channel.choices,
        "statuses": selectors.STATUS_FILTERS,
    }


def _chat_context(request: HttpRequest, conversation: Conversation) -> dict:
    page = selectors.chat_messages(conversation)
    state = selectors.see_conversation(request.user, request.company, conversation.pk)
    return {
        "conversation": conversation,
        "chat": page,
        "last_seen": page.newest_id or 0,
        "state": state,
        "assignees": selectors.assignable_users(request.company),
        "other_conversations": selectors.customer_conversations(
            request.company, conversation.customer, exclude_id=conversation.pk
        ),
        "statuses": Conversation.Status.choices,
    }


@inbox_staff
@company_required
@require_GET
def inbox(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The inbox page, with a conversation open when `pk` is given. HTMX asks the same URL for
    the list alone (filters, tabs, polls) or the chat column alone (opening a row)."""
    flt = _filter(request)
    target = request.htmx.target if request.htmx else None
    if target == "conversation-list":
        return _conversation_list(request, flt, open_id=pk)
    conversation = _conversation_or_404(request, pk) if pk is not None else None
    if target == "chat-column" and conversation is not None:
        return render(request, f"{TEMPLATE}#chat_column", _chat_context(request, conversation))
    context = _list_context(request, flt, open_id=pk)
    if conversation is not None:
        context.update(_chat_context(request, conversation))
    return render(request, TEMPLATE, context)


def _conversation_list(
    request: HttpRequest, flt: selectors.InboxFilter, *, open_id: int | None
) -> HttpResponse:
    """The list partial. A poll sends the token it rendered with (`v`); unchanged, it gets 204
    after one statement and nothing is rendered."""
    token = request.GET.get("v")
    if token is not None and token == selectors.list_version(request.user, request.company):
        return HttpResponse(status=204)
    through = selectors.Cursor.parse(request.GET.get("through"))
    context = _list_context(request, flt, open_id=open_id, through=through)
    return render(request, f"{TEMPLATE}#conversation_list", context)


@inbox_staff
@company_required
@require_GET
def more_conversations(request: HttpRequest) -> HttpResponse:
    """ "Load more": the rows below a cursor (keyset pagination, never OFFSET)."""
    flt = _filter(request)
    after = selectors.Cursor.parse(request.GET.get("after"))
    if after is None:
        return HttpResponse("Missing or malformed cursor.", status=400)
    page = selectors.inbox_page(request.user, request.company, flt, after=after)
    open_id = request.GET.get("open")
    return render(
        request,
        f"{TEMPLATE}#conversation_rows",
        {
            "flt": flt,
            "query": urlencode({k: v for k, v in flt.as_query().items() if v}),
            "page": page,
            "viewers": selectors.viewers_by_conversation(
                request.user, request.company, [c.pk for c in page.rows]
            ),
            "open_id": int(open_id) if open_id and open_id.isdigit() else None,
            "appending": True,
        },
    )


@inbox_staff
@company_required
@require_GET
def chat_poll(request: HttpRequest, pk: int) -> HttpResponse:
    """Every 5 s: one statement records that this agent is viewing and reads the change token.
    Unchanged: 204. Changed: the new messages, header and poller, each swapped into place."""
    state = selectors.see_conversation(request.user, request.company, pk)
    if state is None:
        if not selectors.conversation_exists(request.company, pk):
            raise Http404("No such conversation.")
        # still in the company, but assigned away from this agent: say so, stop polling
        return render(request, f"{TEMPLATE}#chat_gone", {}, status=200)
    if request.GET.get("v") == state.version:
        return HttpResponse(status=204)
    conversation = _conversation_or_404(request, pk)
    after = request.GET.get("after", "0")
    new_messages = selectors.messages_after(conversation, int(after) if after.isdigit() else 0)
    return _chat_update(request, conversation, state=state, new_messages=new_messages)


def _chat_update(
    request: HttpRequest,
    conversation: Conversation,
    *,
    state: selectors.ChatState | None = None,
    new_messages: list | None = None,
    composer: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """A response that swaps the poller and, out of band, appends messages and refreshes the
    header (and the composer when given)."""
    state = state or selectors.see_conversation(request.user, request.company, conversation.pk)
    new_messages = new_messages or []
    last_seen = int(request.POST.get("last_seen") or request.GET.get("after") or 0)
    newest = new_messages[-1].pk if new_messages else last_seen
    context = {
        "conversation": conversation,
        "state": state,
        "new_messages": new_messages,
        "last_seen": max(newest, last_seen),
        "assignees": selectors.assignable_users(request.company),
        "statuses": Conversation.Status.choices,
        "composer": composer,
    }
    return render(request, f"{TEMPLATE}#chat_update", context, status=status)


@inbox_staff
@company_required
@require_GET
def earlier_messages(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    before = request.GET.get("before", "")
    if not before.isdigit():
        return HttpResponse("Missing message id.", status=400)
    page = selectors.chat_messages(conversation, before_id=int(before))
    return render(
        request, f"{TEMPLATE}#earlier_messages", {"conversation": conversation, "chat": page}
    )


@inbox_staff
@company_required
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Send from the composer. The draft comes back in the box on any error."""
    conversation = _conversation_or_404(request, pk)
    form = ReplyForm(request.POST)
    form.is_valid()
    draft = request.POST.get("content", "")
    last_seen = form.cleaned_data.get("last_seen")
    try:
        services.send_agent_reply(
            request.user,
            company_id=request.company.pk,
            conversation_id=conversation.pk,
            content=draft,
            last_seen_message_id=last_seen,
        )
    except ValidationError as error:
        composer = {"draft": draft, "error": error.messages[0]}
        return _chat_update(request, conversation, composer=composer, status=422)
    except services.NewActivity as activity:
        composer = {"draft": draft, "error": activity.message, "is_guard": True}
        return _chat_update(
            request,
            conversation,
            new_messages=activity.new_messages,
            composer=composer,
            status=409,
        )
    conversation = _conversation_or_404(request, pk)
    new_messages = selectors.messages_after(conversation, last_seen or 0)
    return _chat_update(
        request, conversation, new_messages=new_messages, composer={"draft": "", "sent": True}
    )


@inbox_staff
@company_required
@require_POST
def retry(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    try:
        message = services.retry_delivery(
            request.user, company_id=request.company.pk, message_id=message_pk
        )
    except Conversation.DoesNotExist as missing:
        raise Http404 from missing
    except ValidationError as error:
        return HttpResponse(error.messages[0], status=400)
    return render(
        request, f"{TEMPLATE}#message", {"message": message, "conversation": conversation}
    )


def _after_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Header and list row after a status or assignment change; a conversation that left the
    agent's view sends them back to the inbox."""
    try:
        conversation = selectors.conversation_for(request.user, request.company, pk)
    except Conversation.DoesNotExist:
        flash.success(request, "Done. That conversation is no longer in your view.")
        return HttpResponseClientRedirect(reverse("conversations:inbox"))
    return _chat_update(request, conversation)


@inbox_staff
@company_required
@require_POST
def set_status(request: HttpRequest, pk: int) -> HttpResponse:
    _conversation_or_404(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose one of: new, in progress, resolved, closed.", status=400)
    services.change_status(
        request.user,
        company_id=request.company.pk,
        conversation_id=pk,
        status=form.cleaned_data["status"],
    )
    return _after_change(request, pk)


@inbox_staff
@company_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    _conversation_or_404(request, pk)
    form = AssignForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.errors["assignee"][0], status=400)
    assignee = form.cleaned_data["assignee"]
    if assignee == "me":
        assignee = request.user.pk
    try:
        services.assign_conversation(
            request.user, company_id=request.company.pk, conversation_id=pk, assignee_id=assignee
        )
    except ValidationError as error:
        return HttpResponse(error.messages[0], status=400)
    return _after_change(request, pk)


@inbox_staff
@company_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    _conversation_or_404(request, pk)
    conversation = services.mark_conversation_read(
        request.user, company_id=request.company.pk, conversation_id=pk
    )
    conversation = _conversation_or_404(request, conversation.pk)
    return render(request, f"{TEMPLATE}#row_refresh", {"c": conversation, "open_id": pk})


@inbox_staff
@company_required
@require_POST
def edit_customer(request: HttpRequest, pk: int) -> HttpResponse:
    """Name and VIP, edited in place from the customer panel of conversation `pk`."""
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
        "conversation": conversation,
        "other_conversations": selectors.customer_conversations(
            request.company, conversation.customer, exclude_id=conversation.pk
        ),
        "customer_error": error,
        "customer_saved": not error,
        "customer_draft": request.POST.get("name", "") if error else None,
    }
    return render(request, f"{TEMPLATE}#customer_panel", context, status=422 if error else 200)


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
    if form["customer"].value() and str(form["customer"].value()).isdigit():
        chosen = customers_of(request.company).filter(pk=int(form["customer"].value())).first()
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
