from django.apps import AppConfig


class ThemeConfig(AppConfig):
    """Tailwind sources (static_src) and the built stylesheet (static/css/dist)."""

    name = "theme"
