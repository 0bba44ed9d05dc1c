from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    """`values|lookup:field.name`: a dict's value by a variable key (empty when missing)."""
    if not isinstance(mapping, dict):
        return ""
    value = mapping.get(key, "")
    return "" if value is None else value
