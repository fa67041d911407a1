"""Tasks: marking done inline, status and assignee filters, prefilled creation."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from crm.models import Task, TaskStatus
from tests.conftest import Tenant
from tests.factories import TaskFactory
from tests.web.conftest import Records


def test_htmx_marks_a_task_done_and_returns_its_row(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    task = records_a.task

    response = alice.post(
        reverse("task_set_status", args=[task.pk]),
        {"status": "done"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"task-{task.pk}",
    )

    body = response.content.decode()
    assert body.strip().startswith(f'<tr id="task-{task.pk}" class="is-done">')
    with org_a.scope():
        task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.completed_at is not None


def test_reopening_clears_the_completion_time(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    url = reverse("task_set_status", args=[records_a.task.pk])
    alice.post(url, {"status": "done"})

    response = alice.post(url, {"status": "open"}, HTTP_REFERER="http://testserver/tasks/")

    assert response["Location"] == "http://testserver/tasks/"
    with org_a.scope():
        task = Task.objects.get(pk=records_a.task.pk)
    assert (task.status, task.completed_at) == (TaskStatus.OPEN, None)


def test_status_change_ignores_foreign_redirects(alice: Client, records_a: Records) -> None:
    response = alice.post(
        reverse("task_set_status", args=[records_a.task.pk]),
        {"status": "done", "next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("task_detail", args=[records_a.task.pk])


def test_status_change_needs_post(alice: Client, records_a: Records) -> None:
    assert alice.get(reverse("task_set_status", args=[records_a.task.pk])).status_code == 405


def test_filters_by_status_and_assignee(bob: Client, org_a: Tenant, records_a: Records) -> None:
    with org_a.scope():
        TaskFactory(title="Bob's open", assignee=org_a.member)
        TaskFactory(title="Bob's done", assignee=org_a.member, status=TaskStatus.DONE)
        TaskFactory(title="Nobody's", assignee=None)

    def titles(**query: str) -> set[str]:
        response = bob.get(reverse("task_list"), query)
        return {t.title for t in response.context["page_obj"]}

    assert titles(assignee="me") == {"Bob's open", "Bob's done"}
    assert titles(assignee="me", status="open") == {"Bob's open"}
    assert titles(assignee="none") == {"Nobody's"}
    assert titles(status="done") == {"Bob's done"}


def test_new_task_from_a_contact_is_prefilled(alice: Client, records_a: Records) -> None:
    response = alice.get(reverse("task_create"), {"contact": records_a.contact.pk})

    assert response.context["form"]["contact"].value() == str(records_a.contact.pk)


def test_due_date_is_a_datetime_local_field(alice: Client, org_a: Tenant) -> None:
    alice.post(
        reverse("task_create"), {"title": "Demo", "status": "open", "due_at": "2030-05-06T14:30"}
    )

    with org_a.scope():
        task = Task.objects.get(title="Demo")
    assert task.due_at.isoformat() == "2030-05-06T14:30:00+00:00"


def test_overview_lists_my_open_tasks(alice: Client, org_a: Tenant, records_a: Records) -> None:
    with org_a.scope():
        TaskFactory(title="Someone else's", assignee=org_a.member)

    body = alice.get(reverse("home")).content.decode()

    assert "Send the proposal" in body
    assert "Someone else&#x27;s" not in body
