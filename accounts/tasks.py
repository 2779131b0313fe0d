"""Background work for accounts, run by `manage.py db_worker` (Django's Tasks framework)."""

from django.tasks import task

from accounts.services import send_password_reset_link


@task
def send_password_reset(email: str, base_url: str) -> int:
    """The "Forgot your password?" email, sent outside the request that asked for it."""
    return send_password_reset_link(email=email, base_url=base_url)
