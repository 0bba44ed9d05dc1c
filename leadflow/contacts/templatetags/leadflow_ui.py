"""Small pieces every Leadflow screen shares: icons, relative dates, badges, avatars.

Loaded with `{% load leadflow_ui %}`. Everything that reaches HTML from user data goes
through `format_html` (escaping); only the fixed icon markup below is marked safe.
"""

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil

register = template.Library()

# Stroke icons on a 24px grid, drawn in the style of Lucide (ISC licence) so they sit
# together; served inline so the UI needs no icon font or CDN.
ICONS = {
    "gauge": '<path d="m12 14 4-4"/><path d="M3.34 19a10 10 0 1 1 17.32 0"/>',
    "users": '<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2"/><circle cx="9" cy="7" r="4"/>'
    '<path d="M22 21v-2a4 4 0 0 0-3-3.87"/><path d="M16 3.13a4 4 0 0 1 0 7.75"/>',
    "user": '<path d="M19 21v-2a4 4 0 0 0-4-4H9a4 4 0 0 0-4 4v2"/><circle cx="12" cy="7" r="4"/>',
    "user-plus": '<path d="M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2"/>'
    '<circle cx="9" cy="7" r="4"/>'
    '<path d="M19 8v6"/><path d="M22 11h-6"/>',
    "building": '<rect x="4" y="2" width="16" height="20" rx="2"/><path d="M9 22v-4h6v4"/>'
    '<path d="M8 6h.01M12 6h.01M16 6h.01M8 10h.01M12 10h.01M16 10h.01M8 14h.01M12 14h.01'
    'M16 14h.01"/>',
    "inbox": '<path d="M22 12h-6l-2 3h-4l-2-3H2"/><path d="M5.45 5.11 2 12v6a2 2 0 0 0 2 2h16a2 '
    '2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z"/>',
    "upload": '<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4"/><path d="m17 8-5-5-5 5"/>'
    '<path d="M12 3v12"/>',
    "filter": '<path d="M22 3H2l8 9.46V19l4 2v-8.54L22 3z"/>',
    "star": '<path d="m12 2 3.09 6.26L22 9.27l-5 4.87 1.18 6.88L12 17.77l-6.18 3.25L7 14.14 '
    '2 9.27l6.91-1.01L12 2z"/>',
    "mail": '<rect width="20" height="16" x="2" y="4" rx="2"/>'
    '<path d="m22 7-8.97 5.7a1.94 1.94 0 0 1-2.06 0L2 7"/>',
    "handshake": '<path d="m11 17 2 2a1 1 0 1 0 3-3"/><path d="m14 14 2.5 2.5a1 1 0 1 0 3-3'
    "l-3.88-3.88a3 3 0 0 0-4.24 0l-.88.88a1 1 0 1 1-3-3l2.81-2.81a5.79 5.79 0 0 1 7.06-.87"
    'l.47.28a2 2 0 0 0 1.42.25L21 4"/><path d="m21 3 1 11h-2"/><path d="M3 3 2 14l6.5 6.5a1 1'
    ' 0 1 0 3-3"/><path d="M3 4h8"/>',
    "chart": '<path d="M3 3v18h18"/><path d="M18 17V9"/><path d="M13 17V5"/><path d="M8 17v-3"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/>',
    "plus": '<path d="M5 12h14"/><path d="M12 5v14"/>',
    "settings": '<path d="M4 21v-7M4 10V3M12 21v-9M12 8V3M20 21v-5M20 12V3M2 14h4M10 8h4'
    'M18 16h4"/>',
    "log-out": '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4"/><path d="m16 17 5-5-5-5"/>'
    '<path d="M21 12H9"/>',
    "chevron-left": '<path d="m15 18-6-6 6-6"/>',
    "chevron-right": '<path d="m9 18 6-6-6-6"/>',
    "chevron-down": '<path d="m6 9 6 6 6-6"/>',
    "arrow-up": '<path d="m5 12 7-7 7 7"/><path d="M12 19V5"/>',
    "arrow-down": '<path d="M12 5v14"/><path d="m19 12-7 7-7-7"/>',
    "x": '<path d="M18 6 6 18"/><path d="m6 6 12 12"/>',
    "pencil": '<path d="M17 3a2.85 2.83 0 1 1 4 4L7.5 20.5 2 22l1.5-5.5Z"/>',
    "trash": '<path d="M3 6h18"/><path d="M19 6v14c0 1-1 2-2 2H7c-1 0-2-1-2-2V6"/>'
    '<path d="M8 6V4c0-1 1-2 2-2h4c1 0 2 1 2 2v2"/>',
    "note": '<path d="M14.5 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V7.5L14.5 2z"/>'
    '<path d="M14 2v6h6"/><path d="M16 13H8"/><path d="M16 17H8"/>',
    "phone": '<path d="M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 '
    "1-6-6 19.79 19.79 0 0 1-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72 12.84 12.84 0 0 0 "
    ".7 2.81 2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45 12.84 "
    '12.84 0 0 0 2.81.7A2 2 0 0 1 22 16.92z"/>',
    "globe": '<circle cx="12" cy="12" r="10"/><path d="M2 12h20"/><path d="M12 2a15.3 15.3 0 0 '
    '1 4 10 15.3 15.3 0 0 1-4 10 15.3 15.3 0 0 1-4-10 15.3 15.3 0 0 1 4-10z"/>',
    "calendar": '<rect width="18" height="18" x="3" y="4" rx="2"/>'
    '<path d="M16 2v4M8 2v4M3 10h18"/>',
    "flag": '<path d="M4 15s1-1 4-1 5 2 8 2 4-1 4-1V3s-1 1-4 1-5-2-8-2-4 1-4 1z"/>'
    '<path d="M4 22v-7"/>',
    "clipboard": '<rect width="8" height="4" x="8" y="2" rx="1"/><path d="M16 4h2a2 2 0 0 1 2 '
    '2v14a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2h2"/>',
    "pointer": '<path d="m3 3 7.07 16.97 2.51-7.39 7.39-2.51L3 3z"/><path d="m13 13 6 6"/>',
    "eye": '<path d="M2 12s3-7 10-7 10 7 10 7-3 7-10 7-10-7-10-7Z"/>'
    '<circle cx="12" cy="12" r="3"/>',
    "send": '<path d="m22 2-7 20-4-9-9-4Z"/><path d="M22 2 11 13"/>',
    "check-circle": '<path d="M22 11.08V12a10 10 0 1 1-5.93-9.14"/><path d="m22 4-10 10.01-3-3"/>',
    "x-circle": '<circle cx="12" cy="12" r="10"/><path d="m15 9-6 6"/><path d="m9 9 6 6"/>',
    "activity": '<path d="M22 12h-4l-3 9L9 3l-3 9H2"/>',
    "merge": '<circle cx="18" cy="18" r="3"/><circle cx="6" cy="6" r="3"/>'
    '<path d="M6 21V9a9 9 0 0 0 9 9"/>',
    "dollar": '<path d="M12 2v20"/><path d="M17 5H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6"/>',
    "lock": '<rect width="18" height="11" x="3" y="11" rx="2"/>'
    '<path d="M7 11V7a5 5 0 0 1 10 0v4"/>',
    "alert": '<circle cx="12" cy="12" r="10"/><path d="M12 8v4"/><path d="M12 16h.01"/>',
    "check": '<path d="M20 6 9 17l-5-5"/>',
    "external": '<path d="M15 3h6v6"/><path d="M10 14 21 3"/><path d="M18 13v6a2 2 0 0 1-2 2H5a2'
    ' 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6"/>',
}

ACTIVITY_ICONS = {
    "page_view": "globe",
    "form_submitted": "clipboard",
    "email_sent": "send",
    "email_opened": "eye",
    "email_clicked": "pointer",
    "call": "phone",
    "note": "note",
    "meeting": "calendar",
    "stage_changed": "flag",
    "score_changed": "star",
    "owner_assigned": "user",
    "created": "user-plus",
    "updated": "pencil",
    "imported": "upload",
    "merged": "merge",
    "merge_undone": "merge",
    "deal_created": "dollar",
    "deal_won": "check-circle",
    "deal_lost": "x-circle",
    "custom": "activity",
}


@register.simple_tag
def icon(name: str, size: int = 18, css: str = "") -> SafeString:
    """An inline SVG icon; decorative, so hidden from screen readers (labels carry meaning)."""
    paths = ICONS.get(name, ICONS["activity"])
    return mark_safe(  # noqa: S308 - fixed markup from ICONS; name and size are not echoed raw
        f'<svg class="icon {"icon-" + name if name in ICONS else ""} {_css_class(css)}" '
        f'width="{int(size)}" height="{int(size)}" viewBox="0 0 24 24" fill="none" '
        f'stroke="currentColor" stroke-width="1.75" stroke-linecap="round" '
        f'stroke-linejoin="round" aria-hidden="true" focusable="false">{paths}</svg>'
    )


def _css_class(css: str) -> str:
    return "".join(c for c in css if c.isalnum() or c in " -_")


@register.filter
def activity_icon(kind: str) -> str:
    return ACTIVITY_ICONS.get(kind, "activity")


@register.simple_tag
def reltime(value: datetime | date | None, empty: str = "—") -> SafeString:
    """ "3 days ago" (or "in 2 weeks"), with the exact moment in the title for hover."""
    if value is None:
        return format_html('<span class="muted">{}</span>', empty)
    now = timezone.now()
    if isinstance(value, datetime):
        moment = timezone.localtime(value) if timezone.is_aware(value) else value
        exact = format_date(moment, "D j M Y, H:i T")
        iso = value.isoformat()
    else:
        moment = value
        exact = format_date(value, "D j M Y")
        iso = value.isoformat()
        now = timezone.localdate()
    if moment <= now:
        gap = timesince(value, now, depth=1)
        text = "just now" if gap.startswith("0\xa0") else f"{gap} ago"
        if not isinstance(value, datetime) and gap.startswith("0\xa0"):
            text = "today"
    else:
        text = f"in {timeuntil(value, now, depth=1)}"
    return format_html('<time datetime="{}" title="{}">{}</time>', iso, exact, text)


STAGE_TONES = {
    "subscriber": "slate",
    "lead": "blue",
    "mql": "violet",
    "sql": "indigo",
    "opportunity": "amber",
    "customer": "green",
    "advocate": "teal",
    "disqualified": "red",
    # Deal stages share the palette.
    "qualification": "blue",
    "discovery": "violet",
    "proposal": "indigo",
    "negotiation": "amber",
    "won": "green",
    "lost": "red",
}
# Short labels for tight table cells; the full label is the title.
STAGE_SHORT = {"mql": "MQL", "sql": "SQL"}


@register.simple_tag
def badge(value: str, label: str) -> SafeString:
    tone = STAGE_TONES.get(value, "slate")
    short = STAGE_SHORT.get(value, label)
    return format_html('<span class="badge badge-{}" title="{}">{}</span>', tone, label, short)


@register.filter
def stage_short(value: str, label: str) -> str:
    return STAGE_SHORT.get(value, label)


@register.filter
def grade(score: int | None) -> str:
    """The score's letter: A is a lead to call today, D one to leave to nurture."""
    if score is None:
        return "–"
    if score >= 80:
        return "A"
    if score >= 50:
        return "B"
    if score >= 20:
        return "C"
    return "D"


@register.filter
def initials(person) -> str:
    first = (getattr(person, "first_name", "") or "").strip()
    last = (getattr(person, "last_name", "") or "").strip()
    if first or last:
        return (first[:1] + last[:1]).upper()
    text = str(getattr(person, "email", None) or getattr(person, "username", None) or person)
    return text[:2].upper() if text else "?"


@register.filter
def avatar_tone(value) -> int:
    """A stable colour (0-7) per person, so the same rep has the same avatar everywhere."""
    return (getattr(value, "pk", None) or sum(map(ord, str(value)))) % 8


@register.filter
def get_item(mapping, key):
    if not mapping:
        return None
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def choice_label(value: str, choices) -> str:
    """The label of a stored choice value (activity data keeps values, people read labels)."""
    return dict(choices).get(value, value or "—")
