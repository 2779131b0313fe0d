"""The full-text query every search box uses (inbox, customers, start form)."""

import re

from django.contrib.postgres.search import SearchQuery


def search_query(text: str) -> SearchQuery | None:
    """Every word of `text` as a prefix, all required: "mar gar" finds "Maria Garcia". A phone
    number (digits, spaces, +, -, parentheses) is one term matched from its start or its end."""
    if re.fullmatch(r"[\d\s+()\-.]{4,}", text.strip()):
        digits = re.sub(r"\D", "", text)
        return SearchQuery(
            f"('{digits}':* | '{digits[::-1]}':*)", search_type="raw", config="simple"
        )
    words = re.findall(r"[\w@.\-]+", text.lower())
    terms = [w.strip(".-@") for w in words if w.strip(".-@")]
    if not terms:
        return None
    return SearchQuery(" & ".join(f"'{t}':*" for t in terms), search_type="raw", config="simple")
