"""``python manage.py tokens issue|list|revoke``: API tokens from the command line.

``issue`` prints the secret, and only the secret, on stdout so a script can capture it::

    TOKEN=$(python manage.py tokens issue --organization acme-sales \\
            --user demo@liaison.test --scopes api --description "CI")
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import ApiToken, Membership, Organization, User
from crm.models.records import normalize_email
from crm.models.tenants import TokenScope
from crm.services import api_token_issue, api_token_revoke
from crm.tenancy import tenant_context

VALID_SCOPES = [scope.value for scope in TokenScope]
PREFIX_LENGTH = 12  # api_token_issue keeps secret[:12], so a whole secret also names its token


def parse_scopes(value: str) -> list[str]:
    """``"api, read"`` → ``["api", "read"]``; anything outside ``*``, ``api``, ``read`` fails."""
    scopes = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in scopes if s not in VALID_SCOPES]
    if not scopes or unknown:
        given = ", ".join(unknown) or "none"
        raise CommandError(
            f"Invalid scopes ({given}): give a comma-separated list of {', '.join(VALID_SCOPES)}."
        )
    return sorted(set(scopes))


def organization_by_slug(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise CommandError(f"No organization with slug {slug!r}.")
    return organization


def member_by_email(organization: Organization, email: str) -> User:
    user = User.objects.filter(email=normalize_email(email)).first()
    if user is None:
        raise CommandError(f"No user with e-mail {email!r}.")
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise CommandError(f"{user.email} is not a member of {organization.slug}.")
    if not user.is_active:
        raise CommandError(f"{user.email} is deactivated.")
    return user


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "Issue, list and revoke API tokens of an organization."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        issue = actions.add_parser("issue", help="issue a token and print its secret once")
        issue.add_argument("--organization", required=True, help="organization slug")
        issue.add_argument(
            "--user", required=True, help="e-mail of a member; the token acts as them"
        )
        issue.add_argument(
            "--scopes", default="api", help=f"comma-separated: {', '.join(VALID_SCOPES)}"
        )
        issue.add_argument("--description", default="Issued from the command line")

        listing = actions.add_parser("list", help="list the organization's tokens")
        listing.add_argument("--organization", required=True, help="organization slug")

        revoke = actions.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("--organization", required=True, help="organization slug")
        revoke.add_argument("--prefix", required=True, help="the token's prefix, as listed")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = organization_by_slug(options["organization"])
        with tenant_context(organization):
            if options["action"] == "issue":
                self.issue_token(organization, options)
            elif options["action"] == "list":
                self.list_tokens(organization)
            else:
                self.revoke_token(organization, options["prefix"])

    def issue_token(self, organization: Organization, options: dict[str, Any]) -> None:
        scopes = parse_scopes(options["scopes"])
        user = member_by_email(organization, options["user"])
        description = options["description"].strip()
        if not description:
            raise CommandError("The description may not be empty.")
        try:
            issued = api_token_issue(user=user, description=description, scopes=scopes)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stderr.write(
            f"Issued token {issued.token.prefix}… for {user.email} in {organization.slug} "
            f"(scopes: {', '.join(scopes)}). The secret below is shown only once."
        )
        self.stdout.write(issued.secret)

    def list_tokens(self, organization: Organization) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("created_at", "pk")
        rows = [
            [
                token.prefix,
                token.description,
                ",".join(token.scopes),
                token.user.email,
                _when(token.created_at),
                _when(token.last_used_at),
                _when(token.revoked_at),
            ]
            for token in tokens
        ]
        if not rows:
            self.stderr.write(f"{organization.slug} has no API tokens.")
            return
        header = ["PREFIX", "DESCRIPTION", "SCOPES", "USER", "CREATED", "LAST USED", "REVOKED"]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )

    def revoke_token(self, organization: Organization, prefix: str) -> None:
        matches = list(ApiToken.objects.filter(prefix=prefix.strip()[:PREFIX_LENGTH]))
        if not matches:
            raise CommandError(f"No token with prefix {prefix!r} in {organization.slug}.")
        if len(matches) > 1:
            raise CommandError(f"Prefix {prefix!r} matches {len(matches)} tokens; none revoked.")
        token = matches[0]
        if token.revoked_at is not None:
            self.stderr.write(
                f"Token {token.prefix} was already revoked on {_when(token.revoked_at)}."
            )
            return
        api_token_revoke(token=token)
        self.stdout.write(f"Revoked token {token.prefix} ({token.description}).")
