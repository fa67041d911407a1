"""``manage.py tokens issue|list|revoke``: a captured secret works as a bearer token."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from crm.models import ApiToken, Organization, User
from crm.tenancy import all_tenants, tenant_context
from tests.conftest import Tenant

CONTACTS_URL = "/api/v1/crm/contacts"


def tokens(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("tokens", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def issue(tenant: Tenant, user: User | None = None, scopes: str = "api") -> str:
    out, _ = tokens(
        "issue",
        "--organization", tenant.organization.slug,
        "--user", (user or tenant.owner).email,
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
    org_a: Tenant, client: Client
) -> None:
    out, err = tokens(
        "issue",
        "--organization", org_a.organization.slug,
        "--user", org_a.member.email,
        "--scopes", "api",
        "--description", "CI export",
    )  # fmt: skip

    secret = out.strip()
    assert out == secret + "\n"
    assert secret.startswith(ApiToken.PREFIX)
    assert "shown only once" in err
    assert secret not in err
    [token] = token_rows(org_a.organization)
    assert (token.user, token.description, token.scopes) == (org_a.member, "CI export", ["api"])
    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 200
    assert client.get(CONTACTS_URL, **bearer(secret + "x")).status_code == 401


def test_issue_takes_a_comma_separated_scope_list(org_a: Tenant) -> None:
    issue(org_a, scopes=" read, api ,read")

    [token] = token_rows(org_a.organization)
    assert token.scopes == ["api", "read"]


def test_read_scoped_token_reads_but_cannot_write(org_a: Tenant, client: Client) -> None:
    secret = issue(org_a, scopes="read")

    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 200
    response = client.post(
        CONTACTS_URL, {"first_name": "Ada"}, content_type="application/json", **bearer(secret)
    )
    assert response.status_code == 403


@pytest.mark.parametrize("scopes", ["write", "api,admin", "", " , "])
def test_issue_rejects_scopes_outside_star_api_read(org_a: Tenant, scopes: str) -> None:
    with pytest.raises(CommandError, match="Invalid scopes"):
        issue(org_a, scopes=scopes)
    assert token_rows(org_a.organization) == []


def test_issue_for_an_unknown_organization_is_an_error(org_a: Tenant) -> None:
    with pytest.raises(CommandError, match="No organization with slug 'nowhere'"):
        tokens("issue", "--organization", "nowhere", "--user", org_a.owner.email)


def test_issue_for_an_unknown_user_is_an_error(org_a: Tenant) -> None:
    with pytest.raises(CommandError, match="No user with e-mail"):
        tokens("issue", "--organization", org_a.organization.slug, "--user", "ghost@alpha.test")
    assert token_rows(org_a.organization) == []


def test_issue_for_a_user_of_another_organization_is_an_error(org_a: Tenant, org_b: Tenant) -> None:
    with pytest.raises(CommandError, match="is not a member of"):
        issue(org_a, user=org_b.owner)
    assert token_rows(org_a.organization) == []


def test_list_shows_prefix_description_scopes_user_and_revocation(org_a: Tenant) -> None:
    issue(org_a, scopes="read")
    issue(org_a, user=org_a.member, scopes="*")
    first, second = token_rows(org_a.organization)
    tokens("revoke", "--organization", org_a.organization.slug, "--prefix", first.prefix)

    out, _ = tokens("list", "--organization", org_a.organization.slug)

    header, *lines = out.splitlines()
    assert header.split() == [
        "PREFIX", "DESCRIPTION", "SCOPES", "USER", "CREATED", "LAST", "USED", "REVOKED"
    ]  # fmt: skip
    assert len(lines) == 2
    assert lines[0].startswith(first.prefix)
    assert "CI export" in lines[0] and "read" in lines[0] and org_a.owner.email in lines[0]
    revoked_at = token_rows(org_a.organization)[0].revoked_at
    assert revoked_at is not None
    assert lines[0].endswith(revoked_at.strftime("%Y-%m-%d %H:%M"))
    assert lines[1].startswith(second.prefix) and org_a.member.email in lines[1]
    assert "*" in lines[1]
    assert lines[1].endswith("-")  # not revoked


def test_list_shows_when_a_token_was_last_used(org_a: Tenant, client: Client) -> None:
    secret = issue(org_a)
    client.get(CONTACTS_URL, **bearer(secret))

    out, _ = tokens("list", "--organization", org_a.organization.slug)

    [token] = token_rows(org_a.organization)
    assert token.last_used_at is not None
    assert out.count(token.last_used_at.strftime("%Y-%m-%d %H:%M")) >= 1


def test_list_does_not_show_another_organizations_tokens(org_a: Tenant, org_b: Tenant) -> None:
    issue(org_b)

    out, err = tokens("list", "--organization", org_a.organization.slug)

    assert out == ""
    assert "no API tokens" in err


def test_revoked_token_no_longer_authenticates(org_a: Tenant, client: Client) -> None:
    secret = issue(org_a)
    [token] = token_rows(org_a.organization)

    out, _ = tokens("revoke", "--organization", org_a.organization.slug, "--prefix", token.prefix)

    assert f"Revoked token {token.prefix}" in out
    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 401
    [token] = token_rows(org_a.organization)
    assert token.revoked_at is not None


def test_revoke_with_an_unknown_prefix_is_an_error(org_a: Tenant) -> None:
    with pytest.raises(CommandError, match="No token with prefix"):
        tokens("revoke", "--organization", org_a.organization.slug, "--prefix", "lia_nothing1")


def test_revoke_cannot_reach_another_organizations_token(
    org_a: Tenant, org_b: Tenant, client: Client
) -> None:
    secret = issue(org_b)
    [token] = token_rows(org_b.organization)

    with pytest.raises(CommandError, match="No token with prefix"):
        tokens("revoke", "--organization", org_a.organization.slug, "--prefix", token.prefix)

    with all_tenants():
        assert ApiToken.objects.unscoped().get(pk=token.pk).revoked_at is None
    assert client.get(CONTACTS_URL, **bearer(secret)).status_code == 200
