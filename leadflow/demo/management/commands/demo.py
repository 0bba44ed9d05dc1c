"""`leadflow demo [--seed N] [--contacts N] [--format json]`: load the demo workspace."""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadflow.demo import catalogue
from leadflow.demo.generate import (
    DEFAULT_CONTACTS,
    DEFAULT_SEED,
    DemoResult,
    WorkspaceNotEmpty,
    load_demo_workspace,
)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Load a realistic demo workspace (users, channels, campaigns, spend, companies, "
        "contacts, timelines, deals) into an empty database. Running it again adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed: the same seed gives the same workspace (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--contacts",
            type=_positive,
            default=DEFAULT_CONTACTS,
            help=f"How many contacts to make (default {DEFAULT_CONTACTS}).",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *, seed: int, contacts: int, format: str, verbosity: int, **options) -> None:
        try:
            result = load_demo_workspace(seed=seed, contacts=contacts)
        except WorkspaceNotEmpty as exc:
            raise CommandError(str(exc)) from exc
        if format == "json":
            self.stdout.write(json.dumps(_as_json(result)))
        elif verbosity >= 1:
            self.stdout.write(_as_text(result))


def _as_json(result: DemoResult) -> dict:
    return {
        "loaded": result.loaded,
        "already_loaded": not result.loaded,
        "seed": result.seed,
        "seconds": result.seconds,
        "counts": result.counts,
        "contacts_by_stage": result.contacts_by_stage,
        "login": {"username": catalogue.ADMIN_USERNAME, "password": catalogue.DEMO_PASSWORD},
        "users": [{"username": u.username, "role": u.role} for u in catalogue.USERS],
    }


def _as_text(result: DemoResult) -> str:
    c = result.counts
    if result.loaded:
        head = f"Loaded the demo workspace (seed {result.seed}) in {result.seconds:.1f} s:"
    else:
        head = "Demo workspace already loaded; nothing added (demo users checked):"
    others = ", ".join(u.username for u in catalogue.USERS if u.username != "demo")
    return "\n".join(
        [
            head,
            f"  {c['contacts']:,} contacts at {c['companies']:,} companies, "
            f"{c['activities']:,} activities, {c['stage_changes']:,} stage changes",
            f"  {c['deals']:,} deals ({c['deals_won']:,} won, {c['deals_lost']:,} lost, "
            f"{c['deals_open']:,} open)",
            f"  {c['campaigns']} campaigns on {c['channels']} channels, {c['vendors']} vendors, "
            f"{c['spend']:,} spend entries",
            f"Demo login: {catalogue.ADMIN_USERNAME} / {catalogue.DEMO_PASSWORD} (admin); "
            f"also {others} (password {catalogue.DEMO_PASSWORD})",
        ]
    )
