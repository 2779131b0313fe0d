"""Settings of the gunicorn server bench/webhooks.py starts: the hub's own (production: DEBUG off),
plus the bare one-INSERT view it measures beside the webhook (bench/webhook_urls.py)."""

from hub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.webhook_urls"

# production settings, but static file URLs without a collectstatic manifest (as bench/ does)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = BASE_DIR / "static"  # noqa: F405 - no collectstatic output here
