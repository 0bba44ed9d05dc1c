"""Checks a submission against its form's fields: what is required, what each value must be.

Returns clean values and field errors a person can read; never raises on bad input.
"""

from dataclasses import dataclass, field
from typing import Any

from leadflow.capture.models import FieldKind, Form, FormField
from leadflow.contacts.normalise import (
    InvalidEmail,
    InvalidPhone,
    normalise_phone,
    validate_email_address,
)

TRUE_VALUES = {"on", "true", "1", "yes", "y", "checked"}
# Keys the endpoint itself uses; never stored as the person's answers.
CONTROL_KEYS = {"_hp", "_ts", "_vid", "_page", "_ref", "csrfmiddlewaretoken"}
MAX_UNKNOWN_FIELDS = 20


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Posted keys the form does not define: kept on the submission for the record, never
    # mapped onto the contact (so a forged "consent" or "owner" does nothing).
    unknown: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[-1] if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        return ""
    return value.strip()


def check_field(spec: FormField, raw: Any) -> tuple[Any, str | None]:
    """One value, cleaned, or an error."""
    if spec.kind in (FieldKind.CHECKBOX, FieldKind.CONSENT):
        checked = _as_text(raw).lower() in TRUE_VALUES
        if spec.required and not checked:
            return False, "Please tick this box to continue."
        return checked, None
    text = _as_text(raw)
    if "\x00" in text:
        return "", "This value contains characters that are not allowed."
    if not text:
        if spec.default_value and spec.kind == FieldKind.HIDDEN:
            return spec.default_value, None
        return "", ("This field is required." if spec.required else None)
    if len(text) > spec.max_length:
        return text[: spec.max_length], f"Keep this under {spec.max_length} characters."
    if spec.kind == FieldKind.EMAIL:
        try:
            return validate_email_address(text), None
        except InvalidEmail as exc:
            return text, str(exc)
    if spec.kind == FieldKind.PHONE:
        try:
            return normalise_phone(text), None
        except InvalidPhone as exc:
            return text, str(exc)
    if spec.kind == FieldKind.SELECT and spec.options and text not in spec.options:
        return text, "Choose one of the options."
    return text, None


def check_submission(form: Form, data: dict[str, Any], fields: list[FormField]) -> Checked:
    result = Checked()
    known = {f.name for f in fields}
    for spec in fields:
        value, error = check_field(spec, data.get(spec.name))
        result.values[spec.name] = value
        if error:
            result.errors[spec.name] = error
    for key, raw in data.items():
        if key in known or key in CONTROL_KEYS or len(result.unknown) >= MAX_UNKNOWN_FIELDS:
            continue
        result.unknown[str(key)[:64]] = _as_text(raw)[:500]
    if not any(f.kind == FieldKind.EMAIL for f in fields):
        result.errors.setdefault("__all__", "This form has no email field, so it cannot be used.")
    return result
