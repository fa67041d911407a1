"""The sync's multi-row INSERTs: rows asked for in order come back in order, whatever the
number of rows (VALUES for a few, one array per column for many on PostgreSQL), and values
written as array parameters arrive exactly as they were, quotes and backslashes included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from integrations.mail.models import MailThread
from integrations.mail.sql import values_in
from integrations.mail.sync.rows import COPY_FROM_ROWS, insert_rows
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS * 5])
def test_rows_inserted_in_order_return_their_ids_in_that_order(org_a: Tenant, count: int) -> None:
    awkward = ['a "quoted" one', "back\\slash\\", "{braces,comma}", "NULL", "", " spaced "]
    subjects = [f"{awkward[n % len(awkward)]} {n:03d} ✓" for n in reversed(range(count))]
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
        created = set(MailThread.objects.values_list("created_at", flat=True))
        defaults_kept = MailThread.objects.filter(message_count=0, created_at__isnull=False)

        assert [subject for _, subject in returned] == subjects
        assert stored == dict(returned)
        assert defaults_kept.count() == count
        # Written at the moment of the INSERT, in no other time zone.
        assert len(created) == 1
        assert abs(next(iter(created)) - timezone.now()) < timedelta(minutes=5)


@pytest.mark.parametrize(
    "subjects",
    [
        ['say "hi"', "C:\\path\\", "{a,b}", "NULL", "", "ünïcode", "it's"],
        # Nothing to escape: the values are joined in one call.
        ["{a,b}", "a,b", "NULL", "", " padded ", "ünïcode", "it's"],
    ],
    ids=["escaped", "joined"],
)
def test_a_lookup_through_an_array_parameter_finds_values_as_they_are(
    org_a: Tenant, subjects: list[str]
) -> None:
    with org_a.scope():
        for subject in [*subjects, "not asked for"]:
            MailThread.objects.create(subject=subject)

        found = MailThread.objects.filter(subject__in=values_in(subjects, "text"))
        ids = list(found.values_list("pk", flat=True))
        by_id = MailThread.objects.filter(pk__in=values_in(ids))

        assert sorted(found.values_list("subject", flat=True)) == sorted(subjects)
        assert by_id.count() == len(subjects)


def test_a_batch_after_one_rolled_back_with_its_staging_table_is_written(org_a: Tenant) -> None:
    def threads(prefix: str) -> list[dict[str, object]]:
        return [
            {"organization_id": org_a.organization.pk, "subject": f"{prefix} {n}"}
            for n in range(COPY_FROM_ROWS * 2)
        ]

    with org_a.scope():
        with pytest.raises(RuntimeError), transaction.atomic():
            insert_rows(MailThread, threads("lost"))  # the session's staging table starts here
            raise RuntimeError("the page fails")
        insert_rows(MailThread, threads("kept"))
        insert_rows(MailThread, threads("kept again"))

        subjects = list(MailThread.objects.values_list("subject", flat=True))

        assert len(subjects) == COPY_FROM_ROWS * 4
        assert not [s for s in subjects if s.startswith("lost")]


@pytest.mark.django_db(transaction=True)
def test_batches_in_transactions_one_after_another_are_each_written_once(org_a: Tenant) -> None:
    """The commit empties the staging table: the next transaction's batch starts from none."""
    with org_a.scope():
        for prefix in ("first", "second", "third"):
            with transaction.atomic():
                insert_rows(
                    MailThread,
                    [
                        {"organization_id": org_a.organization.pk, "subject": f"{prefix} {n}"}
                        for n in range(COPY_FROM_ROWS * 2)
                    ],
                )

        subjects = list(MailThread.objects.values_list("subject", flat=True))

    assert len(subjects) == len(set(subjects)) == COPY_FROM_ROWS * 6
