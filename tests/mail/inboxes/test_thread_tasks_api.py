"""Task links (seed 004): a CRM task linked to a conversation, listed with it and unlinked."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import Task
from integrations.mail.models import ThreadTask
from tests.conftest import Tenant, token_client
from tests.factories import TaskFactory
from tests.mail.inboxes.conftest import BASE, AdaMail

pytestmark = pytest.mark.django_db


def _tasks_url(ada: AdaMail) -> str:
    return f"{BASE}/thread/{ada.thread.pk}/tasks"


def _task(org: Tenant, **fields: object) -> Task:
    with org.scope():
        return TaskFactory(**fields)


def test_a_linked_task_is_listed_with_the_conversation_until_unlinked(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    task = _task(org_a, title="Send the signed order form", assignee=org_a.member)

    linked = api_a.post(_tasks_url(ada), {"taskId": task.pk}, format="json")
    listed = api_a.get(_tasks_url(ada)).json()
    unlinked = api_a.delete(f"{_tasks_url(ada)}/{task.pk}")

    assert linked.status_code == 201
    body = linked.json()
    assert (body["taskId"], body["title"], body["status"]) == (task.pk, task.title, "open")
    assert body["assigneeId"] == org_a.member.pk
    assert (listed["total"], listed["results"]) == (1, [body])
    assert unlinked.status_code == 204
    assert api_a.get(_tasks_url(ada)).json()["results"] == []
    with org_a.scope():
        assert Task.objects.filter(pk=task.pk).exists()


def test_linking_a_task_twice_keeps_one_link(org_a: Tenant, ada: AdaMail, api_a: APIClient) -> None:
    task = _task(org_a)

    first = api_a.post(_tasks_url(ada), {"taskId": task.pk}, format="json")
    again = api_a.post(_tasks_url(ada), {"taskId": task.pk}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    with org_a.scope():
        assert ThreadTask.objects.count() == 1


def test_another_organizations_task_cannot_be_linked(
    org_a: Tenant, org_b: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    foreign = _task(org_b)

    response = api_a.post(_tasks_url(ada), {"taskId": foreign.pk}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "TaskNotFound")
    with org_a.scope():
        assert not ThreadTask.objects.exists()


def test_unlinking_a_task_that_is_not_linked_is_a_404(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    task = _task(org_a)

    response = api_a.delete(f"{_tasks_url(ada)}/{task.pk}")

    assert (response.status_code, response.json()["code"]) == (404, "ThreadTaskNotFound")


def test_a_read_only_token_lists_task_links_but_cannot_change_them(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    task = _task(org_a)
    api_a.post(_tasks_url(ada), {"taskId": task.pk}, format="json")
    reader = token_client(org_a, org_a.owner, scopes=("read",))

    assert reader.get(_tasks_url(ada)).json()["total"] == 1
    assert reader.post(_tasks_url(ada), {"taskId": task.pk}, format="json").status_code == 403
    assert reader.delete(f"{_tasks_url(ada)}/{task.pk}").status_code == 403
