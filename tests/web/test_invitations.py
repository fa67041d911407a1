"""The invitation link: join when signed in, sign up or sign in first otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Invitation, Membership, Role
from crm.tenancy import all_tenants
from tests.conftest import Tenant
from tests.factories import PASSWORD, UserFactory
from tests.web.conftest import signed_in


@pytest.fixture
def invitation(org_a: Tenant) -> Invitation:
    with org_a.scope():
        return services.invitation_create(
            email="charlie@beta.test", role=Role.ADMIN, invited_by=org_a.owner
        )


def test_a_signed_in_user_joins_and_switches_to_the_organization(
    charlie: Client, org_a: Tenant, org_b: Tenant, invitation: Invitation
) -> None:
    url = reverse("invitation_accept", args=[invitation.key])
    assert "Join Alpha Sales" in charlie.get(url).content.decode()

    response = charlie.post(url)

    assert response["Location"] == reverse("home")
    joined = Membership.objects.get(user=org_b.owner, organization=org_a.organization)
    assert joined.role == Role.ADMIN
    assert charlie.session["organization_id"] == org_a.organization.pk
    assert "Alpha Sales" in charlie.get(reverse("home")).content.decode()


def test_anonymous_visitors_are_offered_signup_with_the_key_kept(
    client: Client, invitation: Invitation
) -> None:
    response = client.get(reverse("invitation_accept", args=[invitation.key]))

    body = response.content.decode()
    assert reverse("account_signup") in body
    assert f"{reverse('account_login')}?next=/invitations/{invitation.key}/" in body
    assert client.session["invitation_key"] == invitation.key


def test_signing_up_through_the_link_joins_the_inviting_organization(
    client: Client, org_a: Tenant
) -> None:
    with org_a.scope():
        invitation = services.invitation_create(
            email="newbie@gamma.test", role=Role.ADMIN, invited_by=org_a.owner
        )
    client.get(reverse("invitation_accept", args=[invitation.key]))
    assert "accepting an invitation" in client.get(reverse("account_signup")).content.decode()

    client.post(
        reverse("account_signup"),
        {
            "email": "newbie@gamma.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "first_name": "New",
            "last_name": "Bie",
        },
    )

    joined = Membership.objects.get(user__email="newbie@gamma.test")
    assert (joined.organization_id, joined.role) == (org_a.organization.pk, Role.ADMIN)


def test_signing_up_with_another_address_than_invited_does_not_join(
    client: Client, org_a: Tenant, invitation: Invitation
) -> None:
    client.get(reverse("invitation_accept", args=[invitation.key]))

    response = client.post(
        reverse("account_signup"),
        {"email": "newbie@gamma.test", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )

    assert "This invitation was sent to charlie@beta.test" in response.content.decode()
    joined = Membership.objects.get(user__email="newbie@gamma.test")
    assert joined.organization_id != org_a.organization.pk
    with all_tenants():
        assert Invitation.objects.unscoped().get(pk=invitation.pk).is_pending


def test_the_invited_address_matches_whatever_its_case(org_a: Tenant) -> None:
    user = UserFactory(email="Erin.Doe@Gamma.Test")
    with org_a.scope():
        invitation = services.invitation_create(
            email="erin.doe@gamma.test", role=Role.MEMBER, invited_by=org_a.owner
        )

    response = signed_in(user).post(reverse("invitation_accept", args=[invitation.key]))

    assert response["Location"] == reverse("home")
    assert Membership.objects.filter(user=user, organization=org_a.organization).exists()


def test_someone_signed_in_with_another_address_is_refused_and_offered_to_switch(
    org_a: Tenant, org_b: Tenant, invitation: Invitation
) -> None:
    dana = signed_in(org_b.member)
    url = reverse("invitation_accept", args=[invitation.key])

    page = dana.get(url)
    refused = dana.post(url)

    body = page.content.decode()
    assert (page.status_code, refused.status_code) == (403, 403)
    message = "This invitation was sent to charlie@beta.test, but you are signed in as"
    assert message in body and message in refused.content.decode()
    assert f'action="{reverse("account_logout")}"' in body
    assert f'name="next" value="{url}"' in body
    assert not Membership.objects.filter(
        user=org_b.member, organization=org_a.organization
    ).exists()
    with all_tenants():
        assert Invitation.objects.unscoped().get(pk=invitation.pk).is_pending


def test_signing_out_from_a_refused_invitation_comes_back_to_it(
    org_b: Tenant, invitation: Invitation
) -> None:
    dana = signed_in(org_b.member)
    url = reverse("invitation_accept", args=[invitation.key])

    response = dana.post(reverse("account_logout"), {"next": url})

    assert response["Location"] == url
    assert "Create your account" in dana.get(url).content.decode()


def test_signing_in_through_the_link_comes_back_to_accept(
    client: Client, org_b: Tenant, invitation: Invitation
) -> None:
    accept_url = reverse("invitation_accept", args=[invitation.key])
    client.get(accept_url)

    response = client.post(
        f"{reverse('account_login')}?next={accept_url}",
        {"login": "charlie@beta.test", "password": PASSWORD},
    )

    assert response["Location"] == accept_url


def test_an_expired_invitation_says_so(charlie: Client, invitation: Invitation) -> None:
    with all_tenants():
        Invitation.objects.unscoped().filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(days=1)
        )

    response = charlie.post(reverse("invitation_accept", args=[invitation.key]))

    assert response.status_code == 410
    assert "This invitation has expired" in response.content.decode()
    assert not Membership.objects.filter(
        organization=invitation.organization_id, user__email="charlie@beta.test"
    ).exists()


def test_a_used_invitation_says_so(
    charlie: Client, client: Client, org_b: Tenant, invitation: Invitation
) -> None:
    charlie.post(reverse("invitation_accept", args=[invitation.key]))

    response = client.get(reverse("invitation_accept", args=[invitation.key]))

    assert response.status_code == 410
    assert "This invitation was already used" in response.content.decode()
    assert "invitation_key" not in client.session


def test_an_unknown_key_is_a_404(client: Client, db: None) -> None:
    response = client.get(reverse("invitation_accept", args=["no-such-key"]))

    assert response.status_code == 404
    assert "This invitation link is not valid" in response.content.decode()
