"""Which channel and campaign a touch came from, from its UTM parameters and referrer.

The workspace's own ChannelRule rows are tried first (editable in the UI and admin); then
the defaults below, which follow the conventions analytics tools use: a paid medium is paid
search (or paid social when the source is a social network), a known search engine as
referrer is organic search, any other outside site is a referral, no referrer is direct.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from leadflow.capture.models import ChannelRule, RuleField
from leadflow.contacts.models import Campaign, Channel, ChannelKind

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")

PAID_MEDIUMS = {"cpc", "ppc", "paid", "paidsearch", "paid-search", "paid_search", "sem", "cpv"}
PAID_SOCIAL_MEDIUMS = {"paid_social", "paid-social", "paidsocial", "social_paid", "social-paid"}
EMAIL_MEDIUMS = {"email", "e-mail", "e_mail", "newsletter", "mail"}
SOCIAL_MEDIUMS = {
    "social",
    "social-network",
    "social_network",
    "social-media",
    "sm",
    "organic_social",
}
SEARCH_MEDIUMS = {"organic", "seo", "organic_search"}
REFERRAL_MEDIUMS = {"referral", "affiliate", "partner"}
EVENT_MEDIUMS = {"event", "events", "webinar", "conference", "trade-show"}

SEARCH_ENGINES = (
    "google",
    "bing",
    "duckduckgo",
    "yahoo",
    "baidu",
    "yandex",
    "ecosia",
    "qwant",
    "search.brave",
    "startpage",
    "naver",
    "seznam",
)
SOCIAL_SITES = (
    "facebook",
    "fb",
    "instagram",
    "linkedin",
    "lnkd",
    "twitter",
    "x",
    "t",
    "youtube",
    "reddit",
    "tiktok",
    "pinterest",
    "threads",
    "mastodon",
    "bsky",
    "xing",
    "quora",
)
WEBMAIL_HOSTS = ("mail.google.com", "outlook.live.com", "outlook.office.com", "mail.yahoo.com")


@dataclass(frozen=True)
class Touch:
    channel: Channel
    campaign: Campaign | None
    kind: str


def referrer_domain(referrer: str) -> str:
    try:
        host = urlsplit(referrer).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def _names(domain: str) -> set[str]:
    """The labels of a host, so 'l.facebook.com' matches 'facebook' and 't.co' matches 't'."""
    labels = domain.split(".")
    return set(labels[:-1]) | {".".join(labels[i:-1]) for i in range(len(labels) - 1)}


def _matches(rule: ChannelRule, values: dict[str, str]) -> bool:
    value = values.get(rule.field, "")
    pattern = rule.value.strip().lower()
    if not value or not pattern:
        return False
    if pattern.startswith("*."):
        return value == pattern[2:] or value.endswith(pattern[1:])
    return value == pattern


def classify_kind(*, utm: dict[str, str], referrer: str, own_host: str = "") -> str:
    """The default channel kind of a touch, without custom rules."""
    medium = utm.get("utm_medium", "").strip().lower()
    source = utm.get("utm_source", "").strip().lower()
    source_is_social = bool(_names(source + ".x") & set(SOCIAL_SITES)) if source else False
    if medium in PAID_SOCIAL_MEDIUMS or (medium in PAID_MEDIUMS and source_is_social):
        return ChannelKind.PAID_SOCIAL
    if medium in PAID_MEDIUMS or medium in {"display", "cpm", "banner"}:
        return ChannelKind.PAID_SEARCH
    if medium in EMAIL_MEDIUMS:
        return ChannelKind.EMAIL
    if medium in SOCIAL_MEDIUMS:
        return ChannelKind.SOCIAL
    if medium in SEARCH_MEDIUMS:
        return ChannelKind.ORGANIC_SEARCH
    if medium in REFERRAL_MEDIUMS:
        return ChannelKind.REFERRAL
    if medium in EVENT_MEDIUMS:
        return ChannelKind.EVENTS
    if source and not medium:
        if source_is_social:
            return ChannelKind.SOCIAL
        if source in EMAIL_MEDIUMS:
            return ChannelKind.EMAIL
    domain = referrer_domain(referrer)
    if not domain or (own_host and domain == own_host.lower().removeprefix("www.")):
        return ChannelKind.OTHER if medium or source else ChannelKind.DIRECT
    if domain in WEBMAIL_HOSTS:
        return ChannelKind.EMAIL
    names = _names(domain)
    if names & set(SEARCH_ENGINES):
        return ChannelKind.ORGANIC_SEARCH
    if names & set(SOCIAL_SITES):
        return ChannelKind.SOCIAL
    return ChannelKind.REFERRAL


def channel_for_kind(kind: str) -> Channel:
    """The workspace's channel of this kind, made on first use with the kind's name."""
    channel = Channel.objects.filter(kind=kind).order_by("id").first()
    if channel is None:
        channel, _ = Channel.objects.get_or_create(
            name=ChannelKind(kind).label, defaults={"kind": kind}
        )
    return channel


def attribute_touch(
    *, utm: dict[str, str], referrer: str, own_host: str = "", default_campaign=None
) -> Touch:
    values = {
        RuleField.UTM_MEDIUM: utm.get("utm_medium", "").strip().lower(),
        RuleField.UTM_SOURCE: utm.get("utm_source", "").strip().lower(),
        RuleField.REFERRER_DOMAIN: referrer_domain(referrer),
    }
    channel = next(
        (r.channel for r in ChannelRule.objects.select_related("channel") if _matches(r, values)),
        None,
    )
    if channel is None:
        channel = channel_for_kind(classify_kind(utm=utm, referrer=referrer, own_host=own_host))
    campaign = default_campaign
    name = utm.get("utm_campaign", "").strip()[:200]
    if name:
        campaign, _ = Campaign.objects.get_or_create(name=name, defaults={"channel": channel})
    return Touch(channel=channel, campaign=campaign, kind=channel.kind)
