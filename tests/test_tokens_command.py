"""``manage.py tokens issue|list|revoke``: a captured secret works as a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from pytest_django import Settings

from crm.models import ApiToken, Membership, Organization, Role, User
from crm.services import organization_create
from crm.tenancy import all_tenants, tenant_context

CONTACTS_URL = "/api/v1/crm/contacts"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Team:
    organization: Organization
    owner: User
    member: User


def _team(name: str, domain: str) -> Team:
    owner = User.objects.create_user(f"owner@{domain}", "x-password-1")
    member = User.objects.create_user(f"member@{domain}", "x-password-1")
    organization = organization_create(name=name, owner=owner, email_domains=[domain])
    Membership.objects.create(user=member, organization=organization, role=Role.MEMBER)
    return Team(organization=organization, owner=owner, member=member)


@pytest.fixture
def alpha(db: None) -> Team:
    return _team("Alpha Tokens", "alpha-tokens.test")


@pytest.fixture
def beta(db: None) -> Team:
    return _team("Beta Tokens", "beta-tokens.test")


def tokens(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("tokens", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def issue(team: Team, user: User | None = None, scopes: str = "api") -> str:
    out, _ = tokens(
        "issue",
        "--organization", team.organization.slug,
        "--user", (user or team.owner).email,
        "--scopes", scopes,
        "--description", "CI export",
    )  # fmt: skip
    return out.strip()


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def token_rows(organization: Organization) -> list[ApiToken]:
    with tenant_context(organization):
        return list(ApiToken.objects.order_by("pk"))


def test_issue_prints_only_the_secret_and_it_authenticates_against_the_api(
    alpha: Team, client: Client
) -> None:
    out, err = tokens(
        "issue",
        "--organization", alpha.organization.slug,
        "--user", alpha.member.email,
        "--scopes", "api",
        "--description", "CI export",
    )  # fmt: skip

    secret = out.strip()
    assert out == secret + "\n"
    assert secret.startswith(ApiToken.PREFIX)
    assert "shown only once" in err
    assert secret not in err
    [token] = token_rows(alpha.organization)
    assert (token.user, token.description, token.scopes) == (alpha.member, "CI export", ["api"])
    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 200
    assert client.get(CONTACTS_URL, **bearer(secret + "x")).status_code == 401


def test_issue_takes_a_comma_separated_scope_list(alpha: Team) -> None:
    issue(alpha, scopes=" read, api ,read")

    [token] = token_rows(alpha.organization)
    assert token.scopes == ["api", "read"]


def test_read_scoped_token_reads_but_cannot_write(alpha: Team, client: Client) -> None:
    secret = issue(alpha, scopes="read")

    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 200
    response = client.post(
        CONTACTS_URL, {"first_name": "Ada"}, content_type="application/json", **bearer(secret)
    )
    assert response.status_code == 403


@pytest.mark.parametrize("scopes", ["write", "api,admin", "", " , "])
def test_issue_rejects_scopes_outside_star_api_read(alpha: Team, scopes: str) -> None:
    with pytest.raises(CommandError, match="Invalid scopes"):
        issue(alpha, scopes=scopes)
    assert token_rows(alpha.organization) == []


def test_issue_for_an_unknown_organization_is_an_error(alpha: Team) -> None:
    with pytest.raises(CommandError, match="No organization with slug 'nowhere'"):
        tokens("issue", "--organization", "nowhere", "--user", alpha.owner.email)


def test_issue_for_an_unknown_user_is_an_error(alpha: Team) -> None:
    with pytest.raises(CommandError, match="No user with e-mail"):
        tokens(
            "issue", "--organization", alpha.organization.slug, "--user", "ghost@alpha-tokens.test"
        )
    assert token_rows(alpha.organization) == []


def test_issue_for_a_user_of_another_organization_is_an_error(alpha: Team, beta: Team) -> None:
    with pytest.raises(CommandError, match="is not a member of"):
        issue(alpha, user=beta.owner)
    assert token_rows(alpha.organization) == []


def test_list_shows_prefix_description_scopes_user_and_revocation(alpha: Team) -> None:
    issue(alpha, scopes="read")
    issue(alpha, user=alpha.member, scopes="*")
    first, second = token_rows(alpha.organization)
    tokens("revoke", "--organization", alpha.organization.slug, "--prefix", first.prefix)

    out, _ = tokens("list", "--organization", alpha.organization.slug)

    header, *lines = out.splitlines()
    assert header.split() == [
        "PREFIX", "DESCRIPTION", "SCOPES", "USER", "CREATED", "LAST", "USED", "REVOKED"
    ]  # fmt: skip
    assert len(lines) == 2
    assert lines[0].startswith(first.prefix)
    assert "CI export" in lines[0] and "read" in lines[0] and alpha.owner.email in lines[0]
    revoked_at = token_rows(alpha.organization)[0].revoked_at
    assert revoked_at is not None
    assert lines[0].endswith(revoked_at.strftime("%Y-%m-%d %H:%M"))
    assert lines[1].startswith(second.prefix) and alpha.member.email in lines[1]
    assert "*" in lines[1]
    assert lines[1].endswith("-")  # not revoked


def test_list_shows_when_a_token_was_last_used(alpha: Team, client: Client) -> None:
    secret = issue(alpha)
    client.get(CONTACTS_URL, **bearer(secret))

    out, _ = tokens("list", "--organization", alpha.organization.slug)

    [token] = token_rows(alpha.organization)
    assert token.last_used_at is not None
    assert out.count(token.last_used_at.strftime("%Y-%m-%d %H:%M")) >= 1


def test_list_does_not_show_another_organizations_tokens(alpha: Team, beta: Team) -> None:
    issue(beta)

    out, err = tokens("list", "--organization", alpha.organization.slug)

    assert out == ""
    assert "no API tokens" in err


def test_revoked_token_no_longer_authenticates(alpha: Team, client: Client) -> None:
    secret = issue(alpha)
    [token] = token_rows(alpha.organization)

    out, _ = tokens("revoke", "--organization", alpha.organization.slug, "--prefix", token.prefix)

    assert f"Revoked token {token.prefix}" in out
    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 401
    [token] = token_rows(alpha.organization)
    assert token.revoked_at is not None


def test_revoke_with_an_unknown_prefix_is_an_error(alpha: Team) -> None:
    with pytest.raises(CommandError, match="No token with prefix"):
        tokens("revoke", "--organization", alpha.organization.slug, "--prefix", "lia_nothing1")


def test_revoke_cannot_reach_another_organizations_token(
    alpha: Team, beta: Team, client: Client
) -> None:
    secret = issue(beta)
    [token] = token_rows(beta.organization)

    with pytest.raises(CommandError, match="No token with prefix"):
        tokens("revoke", "--organization", alpha.organization.slug, "--prefix", token.prefix)

    with all_tenants():
        assert ApiToken.objects.unscoped().get(pk=token.pk).revoked_at is None
    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 200
