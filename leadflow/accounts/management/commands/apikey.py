"""`leadflow apikey create --user NAME`, `list`, `revoke PREFIX`."""

import json

from django.core.management.base import BaseCommand, CommandError

from leadflow.accounts.models import ApiKey, User
from leadflow.accounts.services import create_api_key, revoke_api_key


class Command(BaseCommand):
    help = "Create, list and revoke API keys. A key is shown once; only its hash is kept."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Make a key for a user and print it once.")
        create.add_argument("--user", required=True, help="The username the key acts as.")
        create.add_argument("--name", default="", help="What the key is for.")
        create.add_argument("--format", choices=["text", "json"], default="text")
        listing = sub.add_parser("list", help="List keys (never their secrets).")
        listing.add_argument("--user", default=None)
        listing.add_argument("--format", choices=["text", "json"], default="text")
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix")
        revoke.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *, action: str, format: str, **options) -> None:
        if action == "create":
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user named {options['user']!r}.")
            key, secret = create_api_key(user=user, name=options["name"])
            if format == "json":
                self.stdout.write(
                    json.dumps(
                        {
                            "key": secret,
                            "prefix": key.prefix,
                            "user": user.username,
                            "name": key.name,
                        }
                    )
                )
            else:
                self.stdout.write(secret)
                self.stderr.write("Keep this key now: it is not stored and cannot be shown again.")
        elif action == "list":
            keys = ApiKey.objects.select_related("user")
            if options["user"]:
                keys = keys.filter(user__username=options["user"])
            rows = [
                {
                    "prefix": k.prefix,
                    "user": k.user.username,
                    "name": k.name,
                    "created_at": k.created_at.isoformat(),
                    "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                    "revoked": k.revoked_at is not None,
                }
                for k in keys
            ]
            if format == "json":
                self.stdout.write(json.dumps(rows))
            else:
                for row in rows:
                    state = "revoked" if row["revoked"] else "active"
                    self.stdout.write(
                        f"{row['prefix']}  {row['user']:<20} {state:<8} {row['name']}"
                    )
        else:
            key = ApiKey.objects.filter(prefix=options["prefix"]).first()
            if key is None:
                raise CommandError(f"No key with prefix {options['prefix']!r}.")
            revoke_api_key(key=key)
            if format == "json":
                self.stdout.write(json.dumps({"prefix": key.prefix, "revoked": True}))
            else:
                self.stdout.write(f"Revoked {key.prefix}.")
