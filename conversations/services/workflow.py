"""Status, assignment, handover and read state of a conversation."""

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import Role, User
from companies.access import acting_company_id
from conversations.models import Conversation
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
