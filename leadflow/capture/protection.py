"""Cheap bot filters for public forms: a honeypot field and a minimum time to fill.

The rendered form carries a signed timestamp (`_ts`); a submission that comes back faster
than a person could type is a bot. A plain HTML form a customer wrote themselves has no
`_ts`, so the time check only applies to forms Leadflow rendered; rate limits cover the rest.
"""

import time

from django.core import signing

SIGNER_SALT = "leadflow.capture.form-rendered-at"
HONEYPOT_FIELD = "_hp"
TIMESTAMP_FIELD = "_ts"


def render_token() -> str:
    return signing.dumps(int(time.time() * 1000), salt=SIGNER_SALT)


def spam_reason(data: dict, *, min_fill_seconds: int) -> str | None:
    """Why this looks like a bot, or None."""
    if str(data.get(HONEYPOT_FIELD) or "").strip():
        return "honeypot field filled"
    token = data.get(TIMESTAMP_FIELD)
    if not token:
        return None
    try:
        rendered_ms = signing.loads(str(token), salt=SIGNER_SALT, max_age=24 * 3600)
    except signing.SignatureExpired:
        return None  # a tab left open overnight is a slow human, not a bot
    except signing.BadSignature:
        return "forged form timestamp"
    if not isinstance(rendered_ms, int):
        return "forged form timestamp"
    if time.time() * 1000 - rendered_ms < min_fill_seconds * 1000:
        return "submitted faster than a person can fill the form"
    return None
