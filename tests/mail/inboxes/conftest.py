"""Organization A's team mail (``ada``: Bob's mailbox holds a thread with Ada, a contact of Acme
on an open deal); Erin (``erin``, from tests/mail/conftest.py) is another plain member."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant
from tests.mail.conftest import TEAM_SNIPPET, TEAM_SUBJECT, AdaMail, ada_team_mail

BASE = "/api/v1/integrations/email"
SUBJECT = TEAM_SUBJECT
SNIPPET = TEAM_SNIPPET

__all__ = ["BASE", "SNIPPET", "SUBJECT", "AdaMail"]


@pytest.fixture
def ada(org_a: Tenant) -> AdaMail:
    return ada_team_mail(org_a)
