"""How a value a person typed becomes the one value Leadflow stores."""

import functools
import math
from dataclasses import dataclass

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


# Local parts that reach a team or a machine, not a person, compared without dots, dashes,
# underscores and a "+tag" (so "no-reply+eu@", "No.Reply@" and "noreply@" are all one).
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "accounting", "accounts", "admin", "administrator", "all", "billing",
        "bookings", "booking", "careers", "contact", "contactus", "customercare",
        "customerservice", "customerservices", "customersupport", "datenschutz",
        "donotreply", "enquiries", "enquiry", "everyone", "feedback", "finance", "general",
        "hello", "help", "helpdesk", "hostmaster", "hr", "info", "information", "inquiries",
        "inquiry", "invoice", "invoices", "it", "jobs", "kontakt", "legal", "mail",
        "mailerdaemon", "marketing", "media", "news", "newsletter", "noreply", "noc",
        "office", "orders", "partners", "postmaster", "press", "privacy", "procurement",
        "purchasing", "reception", "recruiting", "recruitment", "root", "sales", "security",
        "service", "staff", "support", "team", "webmaster",
    }
)  # fmt: skip
_ROLE_NOISE = ".-_"


@dataclass(frozen=True)
class EmailFlags:
    is_role: bool
    is_disposable: bool


def role_local_part(local: str) -> str:
    """The local part as compared with ROLE_LOCAL_PARTS: no "+tag", no dots/dashes/underscores."""
    local = local.lower().split("+", 1)[0]
    return local.translate(str.maketrans("", "", _ROLE_NOISE))


def disposable_domains() -> frozenset[str]:
    """The maintained blocklist of the `disposable-email-domains` package (read once)."""
    return _disposable_domains()


@functools.cache
def _disposable_domains() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def _parent_domains(domain: str) -> list[str]:
    """ "a.b.mailinator.com" -> itself, "b.mailinator.com", "mailinator.com" (not "com")."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def email_flags(email: str | None) -> EmailFlags:
    """Whether an address reaches a role (info@, sales@) and whether its domain is disposable.

    Neither makes the address invalid: a role address is a real inbox, just not a person's,
    and the flags let lists and reports tell them apart. A subdomain of a disposable domain
    counts as disposable.
    """
    value = normalise_email(email)
    if not value or "@" not in value:
        return EmailFlags(is_role=False, is_disposable=False)
    local, _, domain = value.rpartition("@")
    blocked = disposable_domains()
    return EmailFlags(
        is_role=role_local_part(local) in ROLE_LOCAL_PARTS,
        is_disposable=any(d in blocked for d in _parent_domains(domain)),
    )
