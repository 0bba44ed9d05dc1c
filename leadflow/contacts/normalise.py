"""How a value a person typed becomes the one value Leadflow stores."""

import functools
import math
import re
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


@dataclass(frozen=True)
class NumberingPlan:
    """What the national numbers behind one country calling code look like, from
    libphonenumber's metadata: the lengths of a whole number (not the shorter ones that are
    dialled only inside an area, "555-0199") and the pattern of each region sharing the
    code (NANPA's +1 has 25 of them)."""

    calling_code: int
    lengths: frozenset[int]
    patterns: tuple[str, ...]

    @functools.cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.patterns))

    def admits(self, national: str) -> bool:
        """Whether `national` (digits after the calling code) can be a number of this plan.

        A necessary condition of libphonenumber's `is_valid_number` (its length and its
        region's general pattern); the import's column-wise reading tests the same two
        things with the same metadata (`acquisition.pipeline.normalise.fast_e164`).
        """
        return len(national) in self.lengths and self._regex.fullmatch(national) is not None


@functools.cache
def numbering_plans() -> dict[int, NumberingPlan]:
    """Every country calling code libphonenumber knows (non-geographic ones included)."""
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

    plans = {}
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        found = [PhoneMetadata.metadata_for_region_or_calling_code(code, r) for r in regions]
        metadata = [m for m in found if m is not None]
        if not metadata:
            continue
        # Lengths come from the code's main region (listed first), as is_possible_number
        # takes them; libphonenumber's build puts every length of the code there.
        desc = metadata[0].general_desc
        local_only = set(desc.possible_length_local_only or ())
        lengths = frozenset(n for n in desc.possible_length or () if n > 0 and n not in local_only)
        patterns = tuple(
            m.general_desc.national_number_pattern
            for m in metadata
            if m.general_desc.national_number_pattern
        )
        plans[code] = NumberingPlan(code, lengths, patterns)
    return plans


def is_storable_phone(number) -> bool:
    """Whether a parsed `phonenumbers.PhoneNumber` is one Leadflow keeps: a whole number
    (not a local-only one) that its calling code's numbering plan admits."""
    import phonenumbers

    plan = numbering_plans().get(number.country_code)
    return plan is not None and plan.admits(phonenumbers.national_significant_number(number))


def normalise_phone(raw: str, *, region: str | None = None) -> str:
    """A phone number in E.164 (+4930123456), read in `region` when it has no country code.

    Only numbers that can exist are kept (`is_storable_phone`): "555-0199" lacks its area
    code, and "030 1234567" read in the US is no number there.
    """
    import phonenumbers
    from django.conf import settings

    text = (raw or "").strip()
    if not text:
        raise InvalidPhone("Enter a phone number.")
    try:
        number = phonenumbers.parse(text, region or settings.PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("This does not look like a phone number.") from exc
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise InvalidPhone("Add the area code: this number only works locally.")
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidPhone("This phone number has the wrong number of digits.")
    if not is_storable_phone(number):
        raise InvalidPhone(
            f"This is not a phone number of country code +{number.country_code}: "
            "check the country code and the area code."
        )
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
