from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    """`values|lookup:field.name`: a dict's value by a variable key (empty when missing)."""
    if not isinstance(mapping, dict):
        return ""
    value = mapping.get(key, "")
    return "" if value is None else value


@register.filter
def http_url(value) -> str:
    """The address if it is http(s), else "#": a block saved through the admin's raw JSON must
    not put a javascript: link on a public page."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else "#"
