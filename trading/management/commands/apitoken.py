"""`manage.py apitoken create|list|revoke`: API tokens from a shell (the admin does the same).

manage.py apitoken create --user alice --name cron [--read-only]   # prints the token once
manage.py apitoken list [--user alice] [--all]
manage.py apitoken revoke ibc_AbCdEf        # by the shown prefix, or by id
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from trading.selectors import token_list, token_match
from trading.tokens import token_create, token_revoke

NO_USER = "no user {username!r}"
NO_TOKEN = "no token matches {ref!r} (use the prefix shown by `apitoken list`, or the id)"
AMBIGUOUS = "{ref!r} matches {count} tokens ({prefixes}); give more of the prefix, or the id"
CREATED = "Token {name!r} for {username}{read_only} (id {id}). Copy it now, it is not shown again:"
REVOKED = "revoked token {id} {name!r} ({prefix}…) of {username}"
ALREADY_REVOKED = "token {id} {name!r} ({prefix}…) was already revoked at {when}"


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (Authorization: Bearer …)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it once.")
        create.add_argument("--user", required=True, help="Username the token acts as.")
        create.add_argument("--name", required=True, help="What the token is for (e.g. cron, tradingview).")
        create.add_argument("--read-only", action="store_true", help="May read, may not submit intents or change settings.")
        listing = sub.add_parser("list", help="List tokens (active ones unless --all).")
        listing.add_argument("--user", default=None)
        listing.add_argument("--all", action="store_true", help="Include revoked tokens.")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix or id.")
        revoke.add_argument("ref", metavar="PREFIX_OR_ID")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, user, name, read_only, **_):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(NO_USER.format(username=user))
        token, plaintext = token_create(user=owner, name=name, read_only=read_only)
        suffix = " (read-only)" if read_only else ""
        self.stderr.write(CREATED.format(name=name, username=user, read_only=suffix, id=token.pk))
        self.stdout.write(plaintext)

    def _list(self, *, user, all, **_):
        for token in token_list(username=user, include_revoked=all):
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            access = "read-only" if token.read_only else "read-write"
            self.stdout.write(
                f"{token.pk:>5}  {token.prefix}…  {token.user.get_username():<16} {token.name:<24} {access:<10} "
                f"used {used:<16} {state}"
            )

    def _revoke(self, *, ref, **_):
        matches = token_match(ref)
        if not matches:
            raise CommandError(NO_TOKEN.format(ref=ref))
        if len(matches) > 1:
            prefixes = ", ".join(f"{t.pk}: {t.prefix}…" for t in matches)
            raise CommandError(AMBIGUOUS.format(ref=ref, count=len(matches), prefixes=prefixes))
        token = matches[0]
        if token.revoked_at is not None:
            self.stdout.write(ALREADY_REVOKED.format(id=token.pk, name=token.name, prefix=token.prefix, when=token.revoked_at))
            return
        token_revoke(token=token)
        self.stdout.write(REVOKED.format(id=token.pk, name=token.name, prefix=token.prefix, username=token.user.get_username()))
