"""Counting requests per key in fixed time windows, in the shared cache (the database's, so
every web process counts together)."""

import hashlib
import time
from datetime import timedelta

from django.core.cache import cache


def allow(scope: str, key: str, *, limit: int, per: timedelta) -> bool:
    """Count one request for `key` in `scope`; False once more than `limit` were counted in the
    current window of length `per`. Approximate under races (a few more may pass), never less."""
    window = int(per.total_seconds())
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"throttle:{scope}:{digest}:{int(time.time()) // window}"
    count = (cache.get(cache_key) or 0) + 1
    cache.set(cache_key, count, timeout=window)
    return count <= limit
