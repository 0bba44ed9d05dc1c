"""How a value a person typed becomes the one value Leadflow stores."""

import math

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    pass


def normalise_email(raw: str | None) -> str | None:
    """Trimmed and lower-cased, so case and whitespace never make a second contact.

    The whole address is lower-cased: mailbox names are case-sensitive in theory (RFC 5321)
    but no provider we know treats them so, and users expect Ann@X.com to be ann@x.com.
    """
    if raw is None:
        return None
    value = raw.strip().lower()
    return value or None


def validate_email_address(raw: str) -> str:
    """The normalised address, or InvalidEmail with a reason a person can read."""
    value = normalise_email(raw)
    if value is None:
        raise InvalidEmail("Enter an email address.")
    try:
        # Syntax and domain form only: no DNS look-up, which would make saving a contact
        # depend on the network (and this product runs on closed networks too).
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    return result.normalized.lower()


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """A phone number in E.164 (+4930123456), read in `region` when it has no country code."""
    import phonenumbers
    from django.conf import settings

    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Enter a phone number.")
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("This does not look like a phone number.") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhone("This phone number has the wrong number of digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def storable_text(value: str) -> str:
    """Text any database can keep: without NUL (PostgreSQL refuses it in text and JSON) and
    with lone surrogates (which JSON allows but UTF-8 cannot encode) replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Round-trip through UTF-16: paired surrogates become their character again, lone
        # ones become U+FFFD.
        value = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def storable_json(value: object) -> object:
    """A JSON document with every key and string made storable (see storable_text)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and Infinity are not JSON, and PostgreSQL refuses them
    return value
