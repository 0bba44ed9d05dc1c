"""The fixed cast of the demo workspace: its people, channels, campaigns and vendors, and the
words its timeline is written in. Everything random is drawn in `generate.py`.

The demo company is Lumen Analytics, a B2B software vendor selling revenue forecasting to
finance and revenue-operations teams, which fills its pipeline both ways PRODUCT.md names:
inbound generation (search, social, content, newsletters, events) and outbound acquisition
(bought lists, prospecting).
"""

from dataclasses import dataclass
from decimal import Decimal

from leadflow.accounts.models import Role
from leadflow.contacts.models import ChannelKind, LifecycleStage

WORKSPACE_NAME = "Lumen Analytics (demo)"
# A demo installation is a toy to click through; its login is printed on purpose.
DEMO_PASSWORD = "demo"  # noqa: S105
# Demo contacts carry this external id prefix: it is how a second run knows the demo is loaded.
EXTERNAL_ID_PREFIX = "demo-"
CURRENCY = "USD"
# Budgets and list sizes below are for this many contacts; other sizes scale them, so that
# cost per lead stays realistic whatever --contacts says.
REFERENCE_CONTACTS = 3000
HISTORY_DAYS = 270  # nine months of history, up to yesterday


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    team: str = ""
    superuser: bool = False


USERS = (
    DemoUser("demo", "Dana", "Whitfield", Role.ADMIN, superuser=True),
    DemoUser("marketer", "Maya", "Okafor", Role.MARKETING, team="Marketing"),
    DemoUser("manager", "Sam", "Lindqvist", Role.SALES_MANAGER, team="Sales"),
    DemoUser("rep1", "Riley", "Moreno", Role.SALES_REP, team="Sales"),
    DemoUser("rep2", "Jordan", "Baptiste", Role.SALES_REP, team="Sales"),
)
ADMIN_USERNAME = "demo"
MARKETER_USERNAME = "marketer"
MANAGER_USERNAME = "manager"
# rep1 works mostly inbound leads, rep2 mostly bought and prospected ones.
INBOUND_REP, OUTBOUND_REP = "rep1", "rep2"


@dataclass(frozen=True)
class DemoChannel:
    name: str
    kind: str
    share: float  # of new contacts whose first touch is this channel
    quality: str  # "high", "mid" or "low": how far its leads tend to go (see CONVERSION)


CHANNELS = (
    DemoChannel("Google organic", ChannelKind.ORGANIC_SEARCH, 0.20, "mid"),
    DemoChannel("Google Ads", ChannelKind.PAID_SEARCH, 0.13, "mid"),
    DemoChannel("LinkedIn", ChannelKind.SOCIAL, 0.06, "mid"),
    DemoChannel("LinkedIn Ads", ChannelKind.PAID_SOCIAL, 0.07, "mid"),
    DemoChannel("Newsletter", ChannelKind.EMAIL, 0.04, "mid"),
    DemoChannel("Partner referrals", ChannelKind.REFERRAL, 0.06, "high"),
    DemoChannel("Direct", ChannelKind.DIRECT, 0.07, "high"),
    DemoChannel("Events & webinars", ChannelKind.EVENTS, 0.10, "high"),
    DemoChannel("Bought lists", ChannelKind.BOUGHT_LIST, 0.15, "low"),
    DemoChannel("Outbound prospecting", ChannelKind.OUTBOUND, 0.12, "low"),
)
NEWSLETTER_CHANNEL = "Newsletter"


@dataclass(frozen=True)
class DemoConversion:
    """Chances of moving on from each stage; the rest stay put or are disqualified."""

    to_lead: float  # a subscriber fills in a form that makes them a lead
    to_mql: float
    to_sql: float
    to_opportunity: float
    win: float  # of deals that closed
    disqualify_lead: float  # of leads that never became MQL


CONVERSION = {
    "high": DemoConversion(0.45, 0.55, 0.65, 0.65, 0.55, 0.04),
    "mid": DemoConversion(0.35, 0.35, 0.55, 0.60, 0.45, 0.06),
    "low": DemoConversion(0.25, 0.22, 0.45, 0.50, 0.35, 0.18),
}


@dataclass(frozen=True)
class DemoVendor:
    name: str
    website: str
    price_per_contact: Decimal


VENDORS = (
    DemoVendor("DataBridge Leads", "https://databridge.example", Decimal("4.50")),
    DemoVendor("LeadMarket", "https://leadmarket.example", Decimal("6.00")),
    DemoVendor("ProspectBase", "https://prospectbase.example", Decimal("3.20")),
)


@dataclass(frozen=True)
class DemoCampaign:
    name: str
    channel: str
    started_days_ago: int
    days: int | None  # None: always on
    budget: int  # for REFERENCE_CONTACTS contacts
    form: str = ""  # the form its new contacts fill in; "" when they fill none
    vendor: str = ""  # bought lists: who sold the list


CAMPAIGNS = (
    DemoCampaign("Google Ads: brand", "Google Ads", 265, None, 18000, "Demo request"),
    DemoCampaign(
        "Google Ads: competitor terms", "Google Ads", 200, 120, 24000, "Free trial signup"
    ),
    DemoCampaign(
        "Google Ads: forecasting keywords", "Google Ads", 110, None, 30000, "Free trial signup"
    ),
    DemoCampaign(
        "E-book: The RevOps playbook",
        "Google organic",
        220,
        None,
        6000,
        "E-book download: The RevOps playbook",
    ),
    DemoCampaign("LinkedIn: founder posts", "LinkedIn", 250, None, 2000, "Newsletter signup"),
    DemoCampaign("LinkedIn Ads: CFO persona", "LinkedIn Ads", 230, 90, 20000, "Demo request"),
    DemoCampaign(
        "LinkedIn Ads: RevOps retargeting",
        "LinkedIn Ads",
        120,
        None,
        15000,
        "E-book download: The RevOps playbook",
    ),
    DemoCampaign("Monthly newsletter", "Newsletter", 270, None, 3000, "Newsletter signup"),
    DemoCampaign("Launch: Forecasts 2.0", "Newsletter", 75, 21, 5000, "Free trial signup"),
    DemoCampaign("SaaStr Europa booth", "Events & webinars", 180, 3, 35000),
    DemoCampaign(
        "Webinar: Pipeline reviews that work",
        "Events & webinars",
        150,
        30,
        4000,
        "Webinar registration",
    ),
    DemoCampaign(
        "Webinar: Forecasting 101", "Events & webinars", 55, 30, 4000, "Webinar registration"
    ),
    DemoCampaign(
        "List: EU fintech finance leaders", "Bought lists", 215, 60, 0, vendor="DataBridge Leads"
    ),
    DemoCampaign("List: US SaaS RevOps", "Bought lists", 150, 90, 0, vendor="LeadMarket"),
    DemoCampaign("List: UK manufacturing CFOs", "Bought lists", 70, 60, 0, vendor="ProspectBase"),
    DemoCampaign("Outbound: healthcare CFOs", "Outbound prospecting", 190, 90, 8000),
    DemoCampaign("Outbound: fintech RevOps", "Outbound prospecting", 95, None, 8000),
)
# Marketing e-mail goes out under these campaigns when they run, else under the newsletter.
EMAIL_CAMPAIGNS = ("Monthly newsletter", "Launch: Forecasts 2.0")


@dataclass(frozen=True)
class DemoCountry:
    code: str  # ISO 3166-1 alpha-2
    locale: str  # Faker's, for names that sound like the place
    weight: int
    calling_code: str
    mobile_starts: tuple[str, ...]
    national_digits: int


COUNTRIES = (
    DemoCountry("US", "en_US", 38, "1", ("2", "3", "4", "5", "6", "7", "8", "9"), 10),
    DemoCountry("GB", "en_GB", 12, "44", ("7",), 10),
    DemoCountry("DE", "de_DE", 10, "49", ("15", "16", "17"), 11),
    DemoCountry("FR", "fr_FR", 7, "33", ("6", "7"), 9),
    DemoCountry("CA", "en_CA", 6, "1", ("2", "4", "5", "6", "7", "9"), 10),
    DemoCountry("NL", "nl_NL", 5, "31", ("6",), 9),
    DemoCountry("ES", "es_ES", 5, "34", ("6", "7"), 9),
    DemoCountry("AU", "en_AU", 5, "61", ("4",), 9),
    DemoCountry("IN", "en_IN", 6, "91", ("7", "8", "9"), 10),
    DemoCountry("BR", "pt_BR", 6, "55", ("119", "219", "319", "419", "519", "619"), 11),
)

# Every demo address is under a name reserved for examples (RFC 2606), so a demo
# installation wired to a real SMTP relay can never write to a real person.
COMPANY_TLD = ".example"
FREE_MAIL_DOMAINS = ("mail.example", "inbox.example", "post.example", "webmail.example")
# Words in company names that make poor domain names.
# fmt: off
LEGAL_WORDS = frozenset({
    "ag", "and", "asociados", "co", "cie", "coop", "e", "et", "gmbh", "group", "inc", "kg",
    "kgaa", "limited", "llc", "ltd", "ltda", "mbh", "me", "nv", "ohg", "plc", "pty", "s", "sa",
    "sarl", "sas", "sl", "stichting", "und", "y",
})
# fmt: on

INDUSTRIES = (
    ("Software", 5),
    ("Financial services", 4),
    ("Healthcare", 2),
    ("Manufacturing", 3),
    ("Retail", 2),
    ("Logistics", 2),
    ("Education", 1),
    ("Media", 1),
    ("Professional services", 3),
    ("Energy", 1),
)
COMPANY_SIZES = ((8, 40), (25, 150), (120, 600), (500, 3000), (2000, 20000))
COMPANY_SIZE_WEIGHTS = (20, 35, 25, 15, 5)

JOB_TITLES = (
    ("Head of Revenue Operations", 3),
    ("RevOps Manager", 4),
    ("Sales Operations Analyst", 3),
    ("VP Sales", 3),
    ("Chief Revenue Officer", 1),
    ("CFO", 2),
    ("Finance Director", 2),
    ("FP&A Manager", 3),
    ("Head of Marketing", 3),
    ("Marketing Operations Manager", 3),
    ("Demand Generation Manager", 2),
    ("Data Analyst", 3),
    ("BI Developer", 2),
    ("CEO", 2),
    ("Founder", 1),
    ("Account Executive", 2),
    ("Operations Manager", 2),
    ("IT Director", 1),
    ("Consultant", 1),
    ("Student", 1),
)

PAGES = (
    ("/pricing", "Pricing"),
    ("/features/forecasting", "Forecasting"),
    ("/features/pipeline", "Pipeline analytics"),
    ("/customers", "Customer stories"),
    ("/blog/revops-metrics", "The 12 RevOps metrics that matter"),
    ("/blog/forecast-accuracy", "Why your forecast is wrong"),
    ("/integrations", "Integrations"),
    ("/docs/getting-started", "Getting started"),
)
MARKETING_SUBJECTS = (
    "Lumen monthly: forecasting without spreadsheets",
    "Your RevOps playbook is ready",
    "Next week's webinar: pipeline reviews that work",
    "Introducing Forecasts 2.0",
    "3 dashboards every CFO asks for",
    "Customer story: how Fernhill cut forecast error by 40%",
)
PERSONAL_SUBJECTS = (
    "Quick question about forecasting at {company}",
    "Following up",
    "Lumen for {company}?",
    "Notes from our call",
)
CALL_OUTCOMES = (("connected", 4), ("voicemail", 3), ("no answer", 3))
MEETINGS = ("Discovery call", "Product demo", "Technical deep dive", "Pricing review")
NOTES = (
    "Interested, but evaluating in Q3.",
    "Forecasts live in spreadsheets today; consolidation is the pain.",
    "Asked for pricing for 25 seats.",
    "Champion is the RevOps lead; the CFO signs.",
    "Wants a security questionnaire before the trial.",
    "Follow up after their board meeting.",
)
SQL_REASONS = (
    "Budget and timeline confirmed on a discovery call",
    "Asked for a demo with their team",
    "Pain confirmed: forecasts built in spreadsheets",
)
DISQUALIFY_LEAD_REASONS = (
    "Student",
    "Competitor",
    "Invalid contact data",
    "Job seeker",
    "Outside our markets",
)
DISQUALIFY_QUALIFIED_REASONS = (
    "No budget",
    "Too small: fewer than 10 seats",
    "No access to the decision maker",
    "Locked into a competitor's contract",
)
LOST_REASONS = (
    "No budget this year",
    "Chose a competitor",
    "No decision",
    "Timing: revisit next quarter",
    "Missing integration",
)
ADVOCATE_REASONS = (
    "NPS 10 and agreed to a case study",
    "Referred a new customer",
    "Spoke at our webinar",
)
# (plan, annual price); bigger companies buy bigger plans.
PLANS = (("Starter", 6000), ("Growth", 18000), ("Enterprise", 48000))
MQL_SOURCE = "scoring rule: score reached 50"
# Where a contact's score sits at each stage (before the engagement bonus).
SCORE_RANGES = {
    LifecycleStage.SUBSCRIBER: (5, 35),
    LifecycleStage.LEAD: (10, 45),
    LifecycleStage.MQL: (50, 75),
    LifecycleStage.SQL: (60, 85),
    LifecycleStage.OPPORTUNITY: (65, 92),
    LifecycleStage.CUSTOMER: (55, 90),
    LifecycleStage.ADVOCATE: (70, 95),
    LifecycleStage.DISQUALIFIED: (0, 20),
}
