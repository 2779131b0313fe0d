"""Files on messages, served only to the company's staff who may see the conversation: stored
under MEDIA_ROOT, never at a public URL."""

import mimetypes

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from accounts.decorators import company_required, role_required
from accounts.models import Role
from conversations import selectors
from conversations.models import MessageAttachment

# shown in the page (an <img>, a player); anything else is downloaded, never rendered by the
# browser (an HTML or SVG file from a customer must not run in the hub's origin)
INLINE_TYPES = ("image/", "audio/", "video/")
NEVER_INLINE = {"image/svg+xml"}


@role_required(Role.AGENT, Role.COMPANY_ADMIN)
@company_required
@require_GET
def attachment(request: HttpRequest, pk: int) -> FileResponse:
    try:
        stored = selectors.attachment_for(request.user, request.company, pk)
    except MessageAttachment.DoesNotExist as missing:
        raise Http404("No such file.") from missing
    mime_type = stored.mime_type or mimetypes.guess_type(stored.file.name)[0] or ""
    inline = mime_type.startswith(INLINE_TYPES) and mime_type not in NEVER_INLINE
    try:
        handle = stored.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404("The file is no longer stored.") from missing
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=stored.filename or stored.file.name.rsplit("/", 1)[-1],
        content_type=mime_type if inline else (mime_type or "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
