import re

from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    """`values|lookup:field.name`: a dict's value by a variable key (empty when missing)."""
    if not isinstance(mapping, dict):
        return ""
    value = mapping.get(key, "")
    return "" if value is None else value


SAFE_SCHEMES = {"http", "https", "mailto", "tel"}


@register.filter
def http_url(value) -> str:
    """The link if it is relative or http(s)/mailto/tel, else "#": a block saved through the
    admin's raw JSON must not put a javascript: (or data:) link on a public page. Browsers
    ignore tabs and newlines inside a scheme, so they are ignored here too."""
    text = str(value or "").strip()
    squeezed = re.sub(r"[\x00-\x20]", "", text).lower()
    scheme = re.match(r"^([a-z][a-z0-9+.-]*):", squeezed)
    if scheme and scheme.group(1) not in SAFE_SCHEMES:
        return "#"
    return text
