"""The overview page and the sections whose features arrive later (calendar, documents)."""

from __future__ import annotations

from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from crm import selectors
from crm.models import TaskStatus
from crm.web.access import acting_user, member_required

MY_TASKS_LIMIT = 10


@member_required
def home(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    my_tasks = selectors.task_queryset().filter(assignee=user, status=TaskStatus.OPEN)
    context = {
        "nav": "home",
        "now": timezone.now(),
        "counts": selectors.overview_counts(user=user),
        "my_tasks": my_tasks.order_by(F("due_at").asc(nulls_last=True), "pk")[:MY_TASKS_LIMIT],
    }
    return render(request, "crm/home.html", context)


def _coming_later(request: HttpRequest, section: str) -> HttpResponse:
    return render(request, f"crm/sections/{section}.html", {"nav": section})


@member_required
def calendar(request: HttpRequest) -> HttpResponse:
    return _coming_later(request, "calendar")


@member_required
def documents(request: HttpRequest) -> HttpResponse:
    return _coming_later(request, "documents")
