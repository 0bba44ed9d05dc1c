"""Load the demo workspace: nine months of a B2B company's funnel, reproducible from a seed.

Everything is drawn from one seeded random generator (and a Faker seeded alike), built in
memory as unsaved rows and saved with bulk_create in one transaction: a few thousand contacts
load in seconds on SQLite, and the same seed on the same day gives the same workspace.

The rows tell one consistent story per contact: the stage history starts at the contact's
creation and ends at its current stage; an owner is assigned when it becomes an MQL (or when a
rep prospects it); a deal opens when it becomes an opportunity; a won deal makes it a customer
and a lost one sends it back to nurture; the timeline holds every one of these steps.
"""

from __future__ import annotations

import itertools
import random
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from faker import Faker

from leadflow.accounts.models import Team, User, Workspace
from leadflow.capture.models import FieldKind, Form, FormField, LandingPage
from leadflow.contacts.models import (
    Activity,
    ActivityKind,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    ConsentState,
    Contact,
    LifecycleStage,
    Spend,
    StageChange,
    Vendor,
)
from leadflow.demo import catalogue as cat
from leadflow.errors import LeadflowError
from leadflow.sales.models import Deal, DealStage

DEFAULT_SEED = 2024
DEFAULT_CONTACTS = cat.REFERENCE_CONTACTS
BATCH_SIZE = 1000


class WorkspaceNotEmpty(LeadflowError):
    """The database already holds contacts or companies that are not the demo's."""


@dataclass(frozen=True)
class DemoResult:
    loaded: bool  # False: the demo workspace was there already and nothing was added
    seed: int | None
    counts: dict[str, int]
    contacts_by_stage: dict[str, int]
    seconds: float


def is_demo_loaded() -> bool:
    return Contact.objects.filter(external_id__startswith=cat.EXTERNAL_ID_PREFIX).exists()


def ensure_demo_users() -> dict[str, User]:
    """The demo's users exist, with their roles and the password "demo" (re-set every time)."""
    # One hash for all five: the demo password is no secret, and hashing is the slow part.
    password = make_password(cat.DEMO_PASSWORD)
    teams = {
        name: Team.objects.get_or_create(name=name)[0]
        for name in sorted({u.team for u in cat.USERS if u.team})
    }
    users = {}
    for spec in cat.USERS:
        user, _ = User.objects.update_or_create(
            username=spec.username,
            defaults={
                "first_name": spec.first_name,
                "last_name": spec.last_name,
                "email": f"{spec.username}@lumen{cat.COMPANY_TLD}",
                "role": spec.role,
                "team": teams.get(spec.team),
                "is_active": True,
                "is_staff": spec.superuser,
                "is_superuser": spec.superuser,
                "password": password,
            },
        )
        users[spec.username] = user
    return users


DEMO_CONSENT = (
    "I agree to receive the playbook and occasional emails from Lumen Analytics. "
    "I can unsubscribe at any time."
)


def ensure_demo_capture() -> Form:
    """The inbound path a new user sees at once (PRODUCT.md): the landing page /p/demo with
    the form /f/demo (email, first name, consent). Made if missing, left alone if edited."""
    form, created = Form.objects.get_or_create(
        slug="demo",
        defaults={
            "name": "Demo: lead generation playbook",
            "submit_label": "Send me the playbook",
            "thank_you_message": "Thank you! The playbook is on its way to your inbox.",
            "lifecycle_stage": LifecycleStage.SUBSCRIBER,
        },
    )
    if created:
        FormField.objects.bulk_create(
            [
                FormField(
                    form=form,
                    position=0,
                    name="email",
                    label="Work email",
                    kind=FieldKind.EMAIL,
                    required=True,
                    maps_to="email",
                    placeholder="you@company.com",
                ),
                FormField(
                    form=form,
                    position=1,
                    name="first_name",
                    label="First name",
                    kind=FieldKind.TEXT,
                    maps_to="first_name",
                ),
                FormField(
                    form=form,
                    position=2,
                    name="consent",
                    label="Consent",
                    kind=FieldKind.CONSENT,
                    required=True,
                    consent_text=DEMO_CONSENT,
                ),
            ]
        )
    LandingPage.objects.get_or_create(
        slug="demo",
        defaults={
            "title": "The 2026 lead generation playbook",
            "description": "Twelve pages on filling a B2B pipeline: inbound, bought lists, "
            "and how to compare them.",
            "form": form,
            "is_published": True,
            "blocks": [
                {"type": "headline", "text": "Fill your pipeline without burning your budget"},
                {
                    "type": "text",
                    "text": "The 2026 lead generation playbook compares inbound "
                    "content, paid search and bought lists by what a customer really costs.\n\n"
                    "Leave your email and we will send it over.",
                },
                {"type": "form"},
            ],
        },
    )
    return form


def count_demo_workspace() -> tuple[dict[str, int], dict[str, int]]:
    """Row counts of what the demo fills, and contacts per lifecycle stage."""
    deals_by_stage = dict(Deal.objects.values_list("stage").annotate(n=Count("id")))
    counts = {
        "users": User.objects.count(),
        "channels": Channel.objects.count(),
        "campaigns": Campaign.objects.count(),
        "vendors": Vendor.objects.count(),
        "spend": Spend.objects.count(),
        "companies": Company.objects.count(),
        "contacts": Contact.objects.count(),
        "activities": Activity.objects.count(),
        "stage_changes": StageChange.objects.count(),
        "deals": sum(deals_by_stage.values()),
        "deals_won": deals_by_stage.get(DealStage.WON, 0),
        "deals_lost": deals_by_stage.get(DealStage.LOST, 0),
    }
    counts["deals_open"] = counts["deals"] - counts["deals_won"] - counts["deals_lost"]
    by_stage = dict(Contact.objects.values_list("lifecycle_stage").annotate(n=Count("id")))
    return counts, {stage: by_stage.get(stage, 0) for stage in LifecycleStage.values}


def load_demo_workspace(
    *, seed: int = DEFAULT_SEED, contacts: int = DEFAULT_CONTACTS, today: date | None = None
) -> DemoResult:
    """Fill an empty database with the demo workspace; on a second run, add nothing.

    The demo users are made (or repaired) either way. A database holding other contacts or
    companies is refused with WorkspaceNotEmpty: demo rows must never mix with real ones.
    """
    if contacts < 1:
        raise LeadflowError("The demo needs at least one contact.")
    started = time.monotonic()
    with transaction.atomic():
        # The workspace row doubles as a lock, so two `leadflow demo` started together load once
        # (SQLite's IMMEDIATE transactions already queue them).
        workspace, _ = Workspace.objects.select_for_update().get_or_create(pk=1)
        users = ensure_demo_users()
        ensure_demo_capture()
        loaded = not is_demo_loaded()
        if loaded:
            if Contact.objects.exists() or Company.objects.exists():
                raise WorkspaceNotEmpty(
                    "This database already holds contacts or companies; the demo workspace "
                    "loads only into an empty one."
                )
            workspace.name = cat.WORKSPACE_NAME
            workspace.default_currency = cat.CURRENCY
            workspace.save()
            today = today or timezone.now().astimezone(UTC).date()
            _Builder(seed=seed, contacts=contacts, today=today, users=users).build_and_save()
    counts, by_stage = count_demo_workspace()
    return DemoResult(
        loaded=loaded,
        seed=seed if loaded else None,
        counts=counts,
        contacts_by_stage=by_stage,
        seconds=round(time.monotonic() - started, 2),
    )


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", folded)


@dataclass(slots=True)
class _Entry:
    """A timeline entry drawn before its contact has an id (it becomes an Activity)."""

    kind: str
    at: datetime
    actor: User | None
    channel: Channel | None
    campaign: Campaign | None
    data: dict


@dataclass(slots=True)
class _Change:
    """A stage change drawn before its contact has an id (it becomes a StageChange)."""

    from_stage: str
    to_stage: str
    at: datetime
    actor: User | None
    source: str
    reason: str


@dataclass
class _Person:
    """A contact being drawn, with what its story needs beyond the row itself."""

    index: int
    channel: Channel
    quality: str
    campaign: Campaign | None
    created_at: datetime
    contact: Contact = field(init=False)
    entries: list[_Entry] = field(default_factory=list)
    changes: list[_Change] = field(default_factory=list)
    last_touch: _Entry | None = None  # the latest entry that carries a channel


def _pk(row: Any) -> int | None:
    return None if row is None else row.pk


class _Builder:
    def __init__(self, *, seed: int, contacts: int, today: date, users: dict[str, User]) -> None:
        self.rng = random.Random(seed)
        # Only the providers the demo uses: loading all of them is most of Faker's start-up.
        self.fake = Faker([c.locale for c in cat.COUNTRIES], providers=_FAKER_PROVIDERS)
        self.fake.seed_instance(seed)
        self.n_contacts = contacts
        self.scale = contacts / cat.REFERENCE_CONTACTS
        self.end = datetime.combine(today, datetime.min.time(), tzinfo=UTC)  # exclusive
        self.start = self.end - timedelta(days=cat.HISTORY_DAYS)
        self.users = users
        self.reps = {
            "inbound": users[cat.INBOUND_REP],
            "outbound": users[cat.OUTBOUND_REP],
        }
        self.marketer = users[cat.MARKETER_USERNAME]
        self.manager = users[cat.MANAGER_USERNAME]
        self.emails: set[str] = set()
        self.domains: set[str] = set()
        self.spend: list[Spend] = []
        self.companies: list[Company] = []
        self.people: list[_Person] = []
        self.deals: list[Deal] = []
        # Timeline entries that name a deal, to be given its id once the deal is saved.
        self.deal_refs: list[tuple[dict, Deal]] = []

    # -- the whole run ------------------------------------------------------------------

    def build_and_save(self) -> None:
        self._make_reference_rows()
        self._draw_companies()
        self._draw_people()
        self._draw_bought_list_batches()
        self.people.sort(key=lambda p: (p.created_at, p.index))
        for person in self.people:
            self._draw_contact(person)
            self._draw_story(person)
        self._draw_spend()
        self._date_companies()
        self._save()

    def _save(self) -> None:
        Spend.objects.bulk_create(self.spend, batch_size=BATCH_SIZE)
        Company.objects.bulk_create(self.companies, batch_size=BATCH_SIZE)
        Contact.objects.bulk_create([p.contact for p in self.people], batch_size=BATCH_SIZE)
        Deal.objects.bulk_create(self.deals, batch_size=BATCH_SIZE)
        for data, deal in self.deal_refs:
            data["deal_id"] = deal.pk
        # Built only now, by ids: the rows are many, and ids skip the ORM's related-object
        # checks, which would otherwise be most of the load time.
        StageChange.objects.bulk_create(
            (
                StageChange(
                    contact_id=person.contact.pk,
                    from_stage=c.from_stage,
                    to_stage=c.to_stage,
                    changed_at=c.at,
                    actor_id=_pk(c.actor),
                    source=c.source,
                    reason=c.reason,
                )
                for person in self.people
                for c in person.changes
            ),
            batch_size=BATCH_SIZE,
        )
        Activity.objects.bulk_create(
            (
                Activity(
                    contact_id=person.contact.pk,
                    kind=e.kind,
                    occurred_at=e.at,
                    actor_id=_pk(e.actor),
                    channel_id=_pk(e.channel),
                    campaign_id=_pk(e.campaign),
                    data=e.data,
                )
                for person in self.people
                for e in person.entries
            ),
            batch_size=BATCH_SIZE,
        )

    # -- channels, campaigns, vendors -----------------------------------------------------

    def _make_reference_rows(self) -> None:
        # A handful of rows, looked up by name: a channel someone already made is reused.
        self.channels = {
            c.name: Channel.objects.get_or_create(name=c.name, defaults={"kind": c.kind})[0]
            for c in cat.CHANNELS
        }
        self.channel_specs = {c.name: c for c in cat.CHANNELS}
        self.vendors = {
            v.name: Vendor.objects.get_or_create(name=v.name, defaults={"website": v.website})[0]
            for v in cat.VENDORS
        }
        self.vendor_specs = {v.name: v for v in cat.VENDORS}
        self.campaigns: dict[str, Campaign] = {}
        self.campaign_specs = {c.name: c for c in cat.CAMPAIGNS}
        today = self.end.date()
        for spec in cat.CAMPAIGNS:
            starts_on = today - timedelta(days=spec.started_days_ago)
            ends_on = starts_on + timedelta(days=spec.days - 1) if spec.days else None
            budget = self._scaled(spec.budget)
            if spec.vendor:  # a list's budget is what its contacts cost
                budget = None
            self.campaigns[spec.name], _ = Campaign.objects.get_or_create(
                name=spec.name,
                defaults={
                    "channel": self.channels[spec.channel],
                    "starts_on": starts_on,
                    "ends_on": ends_on,
                    "budget": budget,
                    "currency": cat.CURRENCY,
                },
            )
        self.campaigns_of: dict[str, list[Campaign]] = {}
        for spec in cat.CAMPAIGNS:
            self.campaigns_of.setdefault(spec.channel, []).append(self.campaigns[spec.name])

    def _scaled(self, amount: int) -> Decimal:
        return Decimal(max(100, round(amount * self.scale, -2)))

    def _window(self, campaign: Campaign) -> tuple[datetime, datetime]:
        """When a campaign ran, as [start, end) clipped to the demo's history."""
        start = max(self.start, self._midnight(campaign.starts_on))
        ends_on = campaign.ends_on
        end = self.end if ends_on is None else min(self.end, self._midnight(ends_on) + _DAY)
        return start, end

    @staticmethod
    def _midnight(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=UTC)

    def _draw_spend(self) -> None:
        """Weekly spend per campaign; lists are paid per purchase (see bought-list batches)."""
        for spec in cat.CAMPAIGNS:
            if spec.vendor:
                continue
            campaign = self.campaigns[spec.name]
            start, end = self._window(campaign)
            weeks = max(1, -(-(end - start).days // 7))
            # An always-on campaign spends its budget over the whole history.
            weekly = campaign.budget / weeks
            for week in range(weeks):
                day = (start + timedelta(days=7 * week)).date()
                amount = (weekly * Decimal(self.rng.uniform(0.75, 1.2))).quantize(_CENT)
                self.spend.append(
                    Spend(spent_on=day, amount=amount, currency=cat.CURRENCY, campaign=campaign)
                )

    # -- companies --------------------------------------------------------------------------

    def _draw_companies(self) -> None:
        rng = self.rng
        countries = cat.COUNTRIES
        weights = [c.weight for c in countries]
        industries, industry_weights = zip(*cat.INDUSTRIES, strict=True)
        names: set[str] = set()
        for _ in range(max(5, self.n_contacts // 10)):
            country = rng.choices(countries, weights)[0]
            name = self.fake[country.locale].company()
            for _ in range(5):  # Faker repeats itself; two companies of one name confuse
                if name not in names:
                    break
                name = self.fake[country.locale].company()
            names.add(name)
            low, high = rng.choices(cat.COMPANY_SIZES, cat.COMPANY_SIZE_WEIGHTS)[0]
            self.companies.append(
                Company(
                    name=name,
                    domain=self._unique_domain(name),
                    industry=rng.choices(industries, industry_weights)[0],
                    size=rng.randint(low, high),
                    country=country.code,
                )
            )
        # A few companies hold many contacts and most hold a few, as in any real database.
        self.company_weights = list(
            itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(self.companies)))
        )
        self.country_by_code = {c.code: c for c in countries}

    def _unique_domain(self, name: str) -> str:
        words = [w for w in _ascii_words(name) if w not in cat.LEGAL_WORDS] or ["company"]
        candidates = ["-".join(words[:2]), "-".join(words[:3]), f"{words[0]}-hq"]
        numbered = (f"{candidates[0]}{n}" for n in itertools.count(2))
        domain = next(
            d
            for c in itertools.chain(candidates, numbered)
            if (d := f"{c}{cat.COMPANY_TLD}") not in self.domains
        )
        self.domains.add(domain)
        return domain

    def _date_companies(self) -> None:
        """A company is as old as its first contact (or any day in the history if it has none)."""
        first: dict[int, datetime] = {}
        for person in self.people:
            key = id(person.contact.company)
            if person.contact.company is not None and key not in first:
                first[key] = person.created_at
        span = int((self.end - self.start).total_seconds())
        for company in self.companies:
            company.created_at = first.get(id(company)) or self.start + timedelta(
                seconds=self.rng.randrange(span)
            )

    # -- who arrives, when, through which channel -------------------------------------------

    def _draw_people(self) -> None:
        rng = self.rng
        channels = cat.CHANNELS
        shares = [c.share for c in channels]
        for index in range(self.n_contacts):
            spec = rng.choices(channels, shares)[0]
            campaign = self._pick_campaign(spec.name)
            if spec.kind == ChannelKind.BOUGHT_LIST:
                created_at = self.start  # set by the list's purchase, below
            elif campaign is not None:
                start, end = self._window(campaign)
                created_at = self._working_time(start, end)
            else:
                # Inbound grows month after month: more recent days bring more contacts.
                span = (self.end - self.start).total_seconds()
                offset = timedelta(seconds=span * rng.random() ** 0.5)
                created_at = self._working_time(self.start + offset, self.start + offset + _DAY)
            self.people.append(
                _Person(
                    index=index,
                    channel=self.channels[spec.name],
                    quality=spec.quality,
                    campaign=campaign,
                    created_at=created_at,
                )
            )

    def _pick_campaign(self, channel_name: str) -> Campaign | None:
        campaigns = self.campaigns_of.get(channel_name, [])
        if not campaigns:
            return None
        if self.channel_specs[channel_name].kind == ChannelKind.ORGANIC_SEARCH:
            # Half the organic visitors come for the e-book, half for the rest of the site.
            return campaigns[0] if self.rng.random() < 0.5 else None
        return self.rng.choice(campaigns)

    def _draw_bought_list_batches(self) -> None:
        """A list arrives in two or three purchases; each is one day's import and one spend."""
        by_campaign: dict[str, list[_Person]] = {}
        for person in self.people:
            if person.campaign is not None and self.campaign_specs[person.campaign.name].vendor:
                by_campaign.setdefault(person.campaign.name, []).append(person)
        for name, people in by_campaign.items():
            campaign, spec = self.campaigns[name], self.campaign_specs[name]
            vendor, vendor_spec = self.vendors[spec.vendor], self.vendor_specs[spec.vendor]
            start, end = self._window(campaign)
            window_days = max(1, (end - start).days)
            n_batches = min(len(people), window_days, self.rng.randint(2, 3))
            days = sorted(self.rng.sample(range(window_days), k=n_batches))
            batches: list[list[_Person]] = [[] for _ in days]
            for person in people:
                self.rng.choice(batches).append(person)
            for day, batch in zip(days, batches, strict=True):
                if not batch:
                    continue
                imported_at = start + timedelta(days=day, hours=10)
                for position, person in enumerate(batch):
                    person.created_at = imported_at + timedelta(seconds=position)
                self.spend.append(
                    Spend(
                        spent_on=imported_at.date(),
                        amount=vendor_spec.price_per_contact * len(batch),
                        currency=cat.CURRENCY,
                        campaign=campaign,
                        vendor=vendor,
                        note=f"List purchase: {len(batch)} contacts",
                    )
                )

    def _working_time(self, start: datetime, end: datetime) -> datetime:
        """A moment in [start, end), moved into office hours and mostly off weekends."""
        rng = self.rng
        span = max(1, int((end - start).total_seconds()))
        moment = start + timedelta(seconds=rng.randrange(span))
        if moment.weekday() >= 5 and rng.random() < 0.7:
            moment -= timedelta(days=moment.weekday() - 4)  # back to Friday
            if moment < start:
                moment = start
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        moment = day + timedelta(hours=rng.uniform(7, 19))
        return min(max(moment, start), min(end, self.end) - timedelta(seconds=1))

    # -- the contact row ----------------------------------------------------------------------

    def _draw_contact(self, person: _Person) -> None:
        rng = self.rng
        kind = person.channel.kind
        acquired = kind in (ChannelKind.BOUGHT_LIST, ChannelKind.OUTBOUND)
        company = None
        if acquired or rng.random() < 0.85:
            company = rng.choices(self.companies, cum_weights=self.company_weights)[0]
        if company is not None and rng.random() < 0.85:
            country = self.country_by_code[company.country]
        else:
            country = rng.choices(cat.COUNTRIES, [c.weight for c in cat.COUNTRIES])[0]
        fake = self.fake[country.locale]
        first, last = fake.first_name(), fake.last_name()
        free_mail = company is None or (not acquired and rng.random() < 0.08)
        domain = rng.choice(cat.FREE_MAIL_DOMAINS) if free_mail else company.domain
        job_title = rng.choices(*zip(*cat.JOB_TITLES, strict=True))[0]
        spec = self.campaign_specs[person.campaign.name] if person.campaign else None
        vendor = self.vendors[spec.vendor] if spec and spec.vendor else None
        person.contact = Contact(
            email=self._unique_email(first, last, domain, free_mail=free_mail),
            first_name=first,
            last_name=last,
            phone=self._phone(country) if rng.random() < (0.9 if acquired else 0.55) else "",
            job_title=job_title,
            country=country.code,
            company=company,
            external_id=f"{cat.EXTERNAL_ID_PREFIX}{person.index + 1:06d}",
            first_touch_channel=person.channel,
            first_touch_campaign=person.campaign,
            source_vendor=vendor,
            created_at=person.created_at,
        )

    def _unique_email(self, first: str, last: str, domain: str, *, free_mail: bool) -> str:
        rng = self.rng
        f = "".join(_ascii_words(first)) or "contact"
        surname = "".join(_ascii_words(last)) or "person"
        local = rng.choices(
            (f"{f}.{surname}", f"{f[0]}{surname}", f"{f}_{surname}", f),
            (55, 20, 10, 5 if not free_mail else 0),
        )[0]
        if free_mail and rng.random() < 0.5:
            local += str(rng.randint(1, 99))
        email = f"{local}@{domain}"
        suffix = 2
        while email in self.emails:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        self.emails.add(email)
        return email

    def _phone(self, country: cat.DemoCountry) -> str:
        """An E.164 number shaped like a mobile number of the country."""
        start = self.rng.choice(country.mobile_starts)
        rest = "".join(
            str(self.rng.randrange(10)) for _ in range(country.national_digits - len(start))
        )
        return f"+{country.calling_code}{start}{rest}"

    # -- the story: stages, owner, deals, timeline -----------------------------------------

    def _draw_story(self, person: _Person) -> None:
        rng = self.rng
        contact = person.contact
        kind = person.channel.kind
        conv = cat.CONVERSION[person.quality]
        spec = self.campaign_specs.get(person.campaign.name) if person.campaign else None
        form = spec.form if spec else ""
        if not form and kind in (ChannelKind.DIRECT, ChannelKind.REFERRAL):
            form = "Contact sales"
        elif not form and kind == ChannelKind.ORGANIC_SEARCH:
            form = rng.choice(("Newsletter signup", "Demo request", "Free trial signup"))
        elif not form and kind in (ChannelKind.SOCIAL, ChannelKind.PAID_SOCIAL):
            form = "Newsletter signup"
        starts_as_subscriber = form == "Newsletter signup" or (
            form.startswith("E-book") and rng.random() < 0.5
        )
        story = _Story(self, person)
        contact.consent, contact.consent_at = self._consent(kind, form, person.created_at)

        # How the contact came in.
        if kind == ChannelKind.BOUGHT_LIST:
            story.touch(
                ActivityKind.IMPORTED,
                person.created_at,
                actor=self.marketer,
                data={"vendor": contact.source_vendor.name, "list": person.campaign.name},
            )
            source = "import"
        elif form:
            story.touch(ActivityKind.CREATED, person.created_at, data={"source": "form"})
            story.touch(
                ActivityKind.FORM_SUBMITTED,
                person.created_at,
                data={"form": form, "page": "/" + "-".join(_ascii_words(form))},
            )
            source = "form"
        else:
            origin = "outbound" if kind == ChannelKind.OUTBOUND else "badge scan"
            actor = self.reps["outbound"] if kind == ChannelKind.OUTBOUND else self.marketer
            story.touch(
                ActivityKind.CREATED, person.created_at, actor=actor, data={"source": origin}
            )
            source = origin
        start_stage = LifecycleStage.SUBSCRIBER if starts_as_subscriber else LifecycleStage.LEAD
        story.change(
            start_stage, person.created_at, source=source, reason="Contact created", first=True
        )
        if kind == ChannelKind.OUTBOUND:
            # A prospected contact belongs to the rep who found it from the first day.
            story.assign(self.reps["outbound"], person.created_at)
        self._walk_funnel(story, conv, start_stage)
        story.engage(form)
        story.finish()

    def _consent(self, kind: str, form: str, at: datetime) -> tuple[str, datetime | None]:
        rng = self.rng
        if form:
            if rng.random() < 0.9:
                unsubscribed_at = at + timedelta(days=rng.uniform(10, 120))
                if rng.random() < 0.04 and unsubscribed_at < self.end:
                    return ConsentState.WITHDRAWN, unsubscribed_at
                return ConsentState.GRANTED, at
            return ConsentState.PENDING, at
        if kind in (ChannelKind.DIRECT, ChannelKind.REFERRAL) and rng.random() < 0.6:
            return ConsentState.GRANTED, at
        return ConsentState.UNKNOWN, None

    def _walk_funnel(self, story: _Story, conv: cat.DemoConversion, stage: str) -> None:
        """Move the contact stage by stage, each step some days after the last, up to today."""
        rng = self.rng
        if stage == LifecycleStage.SUBSCRIBER:
            if rng.random() >= conv.to_lead:
                return
            form = rng.choice(("Demo request", "E-book download: The RevOps playbook"))
            if not story.step(
                LifecycleStage.LEAD, (3, 60), source="form", reason=f"Filled in {form}"
            ):
                return
            story.touch(ActivityKind.FORM_SUBMITTED, story.now, data={"form": form})
        if rng.random() >= conv.to_mql:
            if rng.random() < conv.disqualify_lead:
                story.step(
                    LifecycleStage.DISQUALIFIED,
                    (1, 30),
                    actor=self.marketer,
                    source="user",
                    reason=rng.choice(cat.DISQUALIFY_LEAD_REASONS),
                )
            return
        if not story.step(
            LifecycleStage.MQL,
            (1, 30),
            source=cat.MQL_SOURCE,
            reason="Fit and engagement score reached 50",
        ):
            return
        owner = story.owner or self._route(story.person)
        story.assign(owner, story.now)
        if not self._qualified_step(
            story, conv.to_sql, LifecycleStage.SQL, rng.choice(cat.SQL_REASONS)
        ):
            return
        if rng.random() >= conv.to_opportunity:
            if rng.random() < 0.3:
                story.step(
                    LifecycleStage.DISQUALIFIED,
                    (2, 20),
                    actor=owner,
                    source="user",
                    reason=rng.choice(cat.DISQUALIFY_QUALIFIED_REASONS),
                )
            return
        opened_at = story.later((2, 20))
        if opened_at is None:
            return
        deal = self._new_deal(story)
        story.change(
            LifecycleStage.OPPORTUNITY,
            opened_at,
            actor=owner,
            source="user",
            reason=f"Deal created: {deal.name}",
        )
        closes_at = opened_at + timedelta(days=rng.uniform(14, 75))
        self._place_deal(story, deal, opened_at, closes_at)
        if deal.stage == DealStage.WON:
            story.change(
                LifecycleStage.CUSTOMER, closes_at, source="deal won", reason=f"Won {deal.name}"
            )
            self._after_win(story, deal)
        elif deal.stage == DealStage.LOST:
            story.change(
                LifecycleStage.LEAD,
                closes_at,
                source="deal lost",
                reason=f"Deal lost ({deal.lost_reason}); back to nurture",
            )

    def _qualified_step(self, story: _Story, chance: float, stage: str, reason: str) -> bool:
        if self.rng.random() < chance:
            return story.step(stage, (1, 10), actor=story.owner, source="user", reason=reason)
        if self.rng.random() < 0.3:
            story.step(
                LifecycleStage.DISQUALIFIED,
                (2, 20),
                actor=story.owner,
                source="user",
                reason=self.rng.choice(cat.DISQUALIFY_QUALIFIED_REASONS),
            )
        return False

    def _route(self, person: _Person) -> User:
        acquired = person.quality == "low"
        inbound_share = 0.25 if acquired else 0.8
        return self.reps["inbound" if self.rng.random() < inbound_share else "outbound"]

    def _new_deal(self, story: _Story) -> Deal:
        contact = story.person.contact
        company = contact.company
        size = company.size if company else 10
        plan_index = 0 if size < 60 else 1 if size < 800 else 2
        if self.rng.random() < 0.25:  # some buy a plan above or below their size
            plan_index = min(2, max(0, plan_index + self.rng.choice((-1, 1))))
        plan, price = cat.PLANS[plan_index]
        amount = Decimal(round(price * self.rng.uniform(0.8, 1.4), -2))
        buyer = company.name if company else contact.full_name
        deal = Deal(
            name=f"{buyer}: {plan} annual",
            contact=contact,
            company=company,
            owner=story.owner,
            amount=amount,
            currency=cat.CURRENCY,
        )
        self.deals.append(deal)
        return deal

    def _place_deal(
        self, story: _Story, deal: Deal, opened_at: datetime, closes_at: datetime
    ) -> None:
        """Open the deal; close it at `closes_at` if that is in the past, else keep it open."""
        deal.created_at = opened_at
        deal.expected_close_on = closes_at.date()
        story.deal_event(
            ActivityKind.DEAL_CREATED,
            opened_at,
            deal,
            {"name": deal.name, "amount": str(deal.amount), "currency": deal.currency},
        )
        story.touch(
            ActivityKind.MEETING,
            opened_at + timedelta(days=self.rng.uniform(1, 6)),
            actor=story.owner,
            data={"title": self.rng.choice(cat.MEETINGS)},
        )
        if closes_at >= self.end:
            progress = (self.end - opened_at) / (closes_at - opened_at)
            stages = (
                DealStage.QUALIFICATION,
                DealStage.DISCOVERY,
                DealStage.PROPOSAL,
                DealStage.NEGOTIATION,
            )
            deal.stage = stages[min(3, int(progress * 4))]
            return
        if self.rng.random() < cat.CONVERSION[story.person.quality].win:
            deal.stage, deal.won_at = DealStage.WON, closes_at
            story.deal_event(
                ActivityKind.DEAL_WON,
                closes_at,
                deal,
                {"amount": str(deal.amount), "currency": deal.currency},
            )
        else:
            deal.stage, deal.lost_at = DealStage.LOST, closes_at
            deal.lost_reason = self.rng.choice(cat.LOST_REASONS)
            story.deal_event(ActivityKind.DEAL_LOST, closes_at, deal, {"reason": deal.lost_reason})

    def _after_win(self, story: _Story, deal: Deal) -> None:
        """Happy customers become advocates, and some buy again."""
        rng = self.rng
        if rng.random() < 0.2:
            story.step(
                LifecycleStage.ADVOCATE,
                (30, 120),
                actor=self.marketer,
                source="user",
                reason=rng.choice(cat.ADVOCATE_REASONS),
            )
        if rng.random() < 0.25:
            opened_at = deal.won_at + timedelta(days=rng.uniform(45, 150))
            if opened_at >= self.end:
                return
            expansion = Deal(
                name=f"{deal.name.split(':')[0]}: expansion",
                contact=deal.contact,
                company=deal.company,
                owner=deal.owner,
                amount=Decimal(round(deal.amount * Decimal(rng.uniform(0.2, 0.5)), -2)),
                currency=deal.currency,
            )
            self.deals.append(expansion)
            # Won or lost, an upsell leaves a customer a customer: no stage change.
            closes_at = opened_at + timedelta(days=rng.uniform(10, 40))
            self._place_deal(story, expansion, opened_at, closes_at)


class _Story:
    """One contact's history, written as rows: stage changes, owner, touches, engagement."""

    def __init__(self, builder: _Builder, person: _Person) -> None:
        self.b = builder
        self.person = person
        self.now = person.created_at
        self.owner: User | None = None
        self.assigned_at: datetime | None = None
        self.engagement = 0  # visits, opens, clicks and forms: they raise the score
        self.stage = ""
        self.stopped_at: datetime | None = None  # disqualified: marketing stops here

    def touch(
        self,
        kind: str,
        at: datetime,
        *,
        actor: User | None = None,
        data: dict | None = None,
        channel: Channel | None = None,
        campaign: Campaign | None = None,
    ) -> _Entry | None:
        """One timeline entry; the ones that bring the contact in carry its first touch."""
        if at >= self.b.end:
            return None
        if kind in (ActivityKind.CREATED, ActivityKind.IMPORTED, ActivityKind.FORM_SUBMITTED):
            channel = channel or self.person.channel
            campaign = campaign or self.person.campaign
        entry = _Entry(kind, at, actor, channel, campaign, data or {})
        self.person.entries.append(entry)
        if kind in _ENGAGEMENT_KINDS:
            self.engagement += 1
        last = self.person.last_touch
        if channel is not None and (last is None or at >= last.at):
            self.person.last_touch = entry
        return entry

    def deal_event(self, kind: str, at: datetime, deal: Deal, data: dict) -> None:
        entry = self.touch(kind, at, actor=deal.owner, data=data)
        if entry is not None:
            self.b.deal_refs.append((entry.data, deal))

    def change(
        self,
        stage: str,
        at: datetime,
        *,
        actor: User | None = None,
        source: str = "",
        reason: str = "",
        first: bool = False,
    ) -> None:
        """The stage changes at `at`: a history row and, after the first, a timeline entry."""
        self.person.changes.append(_Change(self.stage, stage, at, actor, source, reason))
        if not first:
            self.touch(
                ActivityKind.STAGE_CHANGED,
                at,
                actor=actor,
                data={"from": self.stage, "to": stage, "reason": reason},
            )
        self.stage = stage
        self.now = at
        self.person.contact.lifecycle_stage = stage
        if stage == LifecycleStage.DISQUALIFIED:
            self.stopped_at = at

    def later(self, gap_days: tuple[float, float]) -> datetime | None:
        """Some days after the last step, or None if that would be today or later."""
        at = self.now + timedelta(days=self.b.rng.uniform(*gap_days))
        return at if at < self.b.end else None

    def step(self, stage: str, gap_days: tuple[float, float], **kwargs: Any) -> bool:
        """Move on after a gap of some days, unless that would be after today."""
        at = self.later(gap_days)
        if at is None:
            return False
        self.change(stage, at, **kwargs)
        return True

    def assign(self, owner: User, at: datetime) -> None:
        if self.owner == owner:
            return
        self.touch(ActivityKind.OWNER_ASSIGNED, at, data={"from": None, "to": owner.pk})
        self.owner = owner
        self.assigned_at = at
        self.person.contact.owner = owner

    def engage(self, form: str) -> None:
        """What the contact did besides changing stage: visits, e-mails, calls, notes."""
        b, rng, contact = self.b, self.b.rng, self.person.contact
        until = min(self.stopped_at or b.end, b.end)
        created = self.person.created_at
        if until <= created:
            return
        span = (until - created).total_seconds()

        def some_time() -> datetime:
            return created + timedelta(seconds=rng.uniform(0, span))

        channels = b.channels
        for _ in range(rng.choices((0, 1, 2, 3), (40, 35, 18, 7))[0]):
            url, title = rng.choice(cat.PAGES)
            channel = channels[rng.choice(("Google organic", "Direct", "Google Ads", "LinkedIn"))]
            campaign = None
            if channel.kind == ChannelKind.PAID_SEARCH:
                campaign = b.campaigns["Google Ads: brand"]
            self.touch(
                ActivityKind.PAGE_VIEW,
                some_time(),
                data={"url": url, "title": title},
                channel=channel,
                campaign=campaign,
            )
        if contact.consent in (ConsentState.GRANTED, ConsentState.WITHDRAWN):
            self._newsletters(some_time)
        if self.owner is not None:
            self._sales_touches(until)

    def _newsletters(self, some_time: Any) -> None:
        b, rng, contact = self.b, self.b.rng, self.person.contact
        newsletter = b.channels[cat.NEWSLETTER_CHANNEL]
        withdrawn_at = contact.consent_at if contact.consent == ConsentState.WITHDRAWN else None
        for _ in range(rng.choices((0, 1, 2, 3), (30, 38, 22, 10))[0]):
            sent_at = some_time()
            if withdrawn_at is not None and sent_at >= withdrawn_at:
                continue
            campaign = b.campaigns[cat.EMAIL_CAMPAIGNS[0]]
            launch = b.campaigns[cat.EMAIL_CAMPAIGNS[1]]
            start, end = b._window(launch)
            if start <= sent_at < end:
                campaign = launch
            subject = rng.choice(cat.MARKETING_SUBJECTS)
            self.touch(
                ActivityKind.EMAIL_SENT, sent_at, data={"subject": subject}, campaign=campaign
            )
            if rng.random() < 0.45:
                opened_at = sent_at + timedelta(minutes=rng.uniform(5, 2 * 24 * 60))
                self.touch(
                    ActivityKind.EMAIL_OPENED,
                    opened_at,
                    data={"subject": subject},
                    campaign=campaign,
                )
                if rng.random() < 0.3:
                    url, _ = rng.choice(cat.PAGES)
                    self.touch(
                        ActivityKind.EMAIL_CLICKED,
                        opened_at + timedelta(seconds=rng.uniform(5, 300)),
                        data={"subject": subject, "url": url},
                        channel=newsletter,
                        campaign=campaign,
                    )

    def _sales_touches(self, until: datetime) -> None:
        rng, contact = self.b.rng, self.person.contact
        company = contact.company.name if contact.company else "your team"
        at = self.assigned_at or self.person.created_at
        for _ in range(rng.randint(1, 3)):
            at += timedelta(days=rng.uniform(0.1, 6))
            if at >= until:
                return
            if rng.random() < 0.5:
                outcome = rng.choices(*zip(*cat.CALL_OUTCOMES, strict=True))[0]
                duration = rng.randint(120, 1500) if outcome == "connected" else 0
                self.touch(
                    ActivityKind.CALL,
                    at,
                    actor=self.owner,
                    data={"outcome": outcome, "duration_s": duration},
                )
            else:
                subject = rng.choice(cat.PERSONAL_SUBJECTS).format(company=company)
                self.touch(
                    ActivityKind.EMAIL_SENT,
                    at,
                    actor=self.owner,
                    data={"subject": subject, "personal": True},
                )
        at += timedelta(days=rng.uniform(0.1, 3))
        if rng.random() < 0.35 and at < until:
            self.touch(
                ActivityKind.NOTE, at, actor=self.owner, data={"text": rng.choice(cat.NOTES)}
            )

    def finish(self) -> None:
        """Last touch and score follow from what was drawn."""
        contact = self.person.contact
        last = self.person.last_touch
        contact.last_touch_channel = last.channel
        contact.last_touch_campaign = last.campaign
        low, high = cat.SCORE_RANGES[contact.lifecycle_stage]
        contact.score = min(100, self.b.rng.randint(low, high) + 2 * self.engagement)


_FAKER_PROVIDERS = ["faker.providers.person", "faker.providers.company"]
_DAY = timedelta(days=1)
_CENT = Decimal("0.01")
_ENGAGEMENT_KINDS = frozenset(
    {
        ActivityKind.PAGE_VIEW,
        ActivityKind.EMAIL_OPENED,
        ActivityKind.EMAIL_CLICKED,
        ActivityKind.FORM_SUBMITTED,
    }
)
