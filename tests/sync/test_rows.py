"""The sync's multi-row INSERTs: rows asked for in order come back in order, whatever the
number of rows (VALUES for a few, one array per column for many on PostgreSQL)."""

from __future__ import annotations

import pytest

from integrations.mail.models import MailThread
from integrations.mail.sync.rows import COPY_FROM_ROWS, insert_rows
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS * 5])
def test_rows_inserted_in_order_return_their_ids_in_that_order(org_a: Tenant, count: int) -> None:
    subjects = [f"Subject {n:03d} ✓" for n in reversed(range(count))]
    with org_a.scope():
        returned = insert_rows(
            MailThread,
            [
                {"organization_id": org_a.organization.pk, "subject": subject}
                for subject in subjects
            ],
            returning=("id", "subject"),
            in_order=True,
        )
        stored = dict(MailThread.objects.values_list("id", "subject"))
        defaults_kept = MailThread.objects.filter(message_count=0, created_at__isnull=False)

        assert [subject for _, subject in returned] == subjects
        assert stored == dict(returned)
        assert defaults_kept.count() == count
