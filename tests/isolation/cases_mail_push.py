"""Isolation cases of the push webhooks.

They hold no tenant data: Google and Microsoft call them without a user, and what they act on is
found from the proof the notification carries (a token Google signed for our audience, or the
clientState secret of one subscription), never from the caller's organization. Charlie's POSTs
here carry neither, so they are refused (403) like any forged notification, and nothing of
organization A's shows; tests/mail/push/test_push_webhooks.py checks that a forged notification
naming A's mailbox changes nothing.
"""

from __future__ import annotations

from tests.isolation.cases import Case

NO_TENANT_DATA = Case()

CASES: dict[str, Case] = {
    "/api/v1/integrations/webhooks/google": NO_TENANT_DATA,
    "/api/v1/integrations/webhooks/microsoft": NO_TENANT_DATA,
}
