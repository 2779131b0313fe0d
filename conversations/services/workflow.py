"""Status, assignment, handover and read state of a conversation, and calls logged on it."""

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, User
from companies.access import acting_company_id
from conversations.models import MAX_AGENT_MESSAGE_LENGTH, Conversation, Message
from conversations.services.common import Status, _locked_conversation, _mark_read


def change_status(
    user: User, *, company_id: int, conversation_id: int, status: str
) -> Conversation:
    company_id = acting_company_id(user, company_id)
    if status not in Status.values:
        raise ValidationError("Choose one of: new, in progress, resolved, closed.", code="status")
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        conversation.status = status
        conversation.save(update_fields=["status", "updated_at"])
    return conversation


def assignable_users_q(company_id: int) -> Q:
    return Q(company_id=company_id, is_active=True, role__in=[Role.AGENT, Role.COMPANY_ADMIN])


def assign_conversation(
    user: User, *, company_id: int, conversation_id: int, assignee_id: int | None
) -> Conversation:
    """Assign to an active agent or admin of the same company, or unassign (None).

    Agents work on their own and unassigned conversations only, so they can take, hand over or
    release those, never a colleague's (those are read-only to them).
    """
    company_id = acting_company_id(user, company_id)
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        _set_assignee(conversation, assignee_id)
    return conversation


def _set_assignee(conversation: Conversation, assignee_id: int | None) -> None:
    assignee = None
    if assignee_id is not None:
        assignee = User.objects.filter(
            assignable_users_q(conversation.company_id), pk=assignee_id
        ).first()
        if assignee is None:
            raise ValidationError(
                "That person is not an active agent of this company.", code="assignee"
            )
    conversation.assigned_user = assignee
    conversation.save(update_fields=["assigned_user", "updated_at"])


HANDOVER_UNDO_SECONDS = 10 * 60
_UNDO_SALT = "conversations.handover-undo"


def handover_undo_token(user: User, conversation: Conversation, *, previous_id: int | None) -> str:
    """A signed note of a handover `user` just made, which lets them undo it for a while even
    though the conversation is now a colleague's (and maybe out of their view)."""
    return signing.dumps(
        {
            "user": user.pk,
            "conversation": conversation.pk,
            "from": previous_id,
            "to": conversation.assigned_user_id,
        },
        salt=_UNDO_SALT,
    )


def undo_handover(user: User, *, company_id: int, conversation_id: int, token: str) -> Conversation:
    """Give a conversation back to whom it had before `user` handed it over, if nobody has
    changed its assignment since and the undo is recent."""
    company_id = acting_company_id(user, company_id)
    try:
        handover = signing.loads(token, salt=_UNDO_SALT, max_age=HANDOVER_UNDO_SECONDS)
    except signing.SignatureExpired as expired:
        raise ValidationError(
            "That handover is too old to undo; ask the new assignee or an admin.", code="expired"
        ) from expired
    except signing.BadSignature as bad:
        raise ValidationError("That undo link is not valid.", code="bad_token") from bad
    if handover["user"] != user.pk or handover["conversation"] != conversation_id:
        raise ValidationError("That undo link is not valid.", code="bad_token")
    with transaction.atomic():
        conversation = (
            Conversation.objects.for_company(user.company_id)
            .filter(company_id=company_id)
            .select_for_update(of=("self",))
            .get(pk=conversation_id)
        )
        if conversation.assigned_user_id != handover["to"]:
            raise ValidationError(
                "Someone changed the assignment since, so it cannot be undone.", code="changed"
            )
        _set_assignee(conversation, handover["from"])
    return conversation


def mark_conversation_read(user: User, *, company_id: int, conversation_id: int) -> Conversation:
    """The agent has seen the customer's messages: clear the unread badge."""
    company_id = acting_company_id(user, company_id)
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        if conversation.unread_count:
            _mark_read(conversation)
            conversation.save(update_fields=["unread_count", "updated_at"])
    return conversation


CALL_DIRECTIONS = {"inbound": "Incoming call", "outbound": "Outgoing call"}
CALL_OUTCOMES = {
    "reached": "Talked",
    "voicemail": "Left a voicemail",
    "no-answer": "No answer",
    "busy": "Busy",
}
MAX_CALL_SECONDS = 24 * 3600


def log_call(
    user: User,
    *,
    company_id: int,
    conversation_id: int,
    direction: str,
    duration_seconds: int,
    outcome: str,
    notes: str = "",
) -> Message:
    """Record a phone call an agent made or took (outside the hub) on a conversation: an entry in
    its history, never a message sent to anyone."""
    company_id = acting_company_id(user, company_id)
    if direction not in CALL_DIRECTIONS:
        raise ValidationError("Choose whether the call was incoming or outgoing.", code="direction")
    if outcome not in CALL_OUTCOMES:
        raise ValidationError("Choose how the call went.", code="outcome")
    if not 0 <= duration_seconds <= MAX_CALL_SECONDS:
        raise ValidationError("A call lasts between 0 seconds and 24 hours.", code="duration")
    notes = notes.strip()
    if len(notes) > MAX_AGENT_MESSAGE_LENGTH:
        raise ValidationError(
            f"Notes can be at most {MAX_AGENT_MESSAGE_LENGTH:,} characters.", code="too_long"
        )
    minutes, seconds = divmod(duration_seconds, 60)
    summary = f"{CALL_DIRECTIONS[direction]} · {minutes}:{seconds:02d} · {CALL_OUTCOMES[outcome]}"
    with transaction.atomic():
        conversation = _locked_conversation(user, company_id, conversation_id)
        now = timezone.now()
        entry = Message.objects.create(
            company_id=company_id,
            conversation=conversation,
            inbox=None,  # nothing is delivered: the call happened on the phone
            content=f"{summary}\n{notes}" if notes else summary,
            kind=Message.Kind.CALL,
            payload={
                "direction": direction,
                "duration": duration_seconds,
                "outcome": outcome,
                "notes": notes,
                "summary": summary,
            },
            sender_type=Message.SenderType.AGENT,
            sender_user=user,
            timestamp=now,
            is_read=True,
            delivery_status=Message.DeliveryStatus.SENT,
            status_changed_at=now,
        )
        conversation.last_message_at = now
        conversation.save(update_fields=["last_message_at", "updated_at"])
    return entry
