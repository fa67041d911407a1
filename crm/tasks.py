"""Tenant-aware Celery tasks: the organization travels as an explicit id, never implicitly."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, ParamSpec, TypeVar

from celery import shared_task
from django.db import transaction

from crm.models import Organization
from crm.tenancy import tenant_context

P = ParamSpec("P")
R = TypeVar("R")


def tenant_task(*, atomic: bool = True, **celery_options: Any) -> Callable[[Callable[..., R]], Any]:
    """A Celery task called as ``task.delay(organization_id, ...)``.

    The wrapped function receives the loaded ``Organization`` first and runs inside
    ``tenant_context`` (and, unless ``atomic=False``, one transaction holding the SET LOCAL).
    Tasks that commit batch by batch pass ``atomic=False`` and use ``tenant_atomic`` per batch.
    The context is always reset, so a worker process never carries one task's tenant into the next.
    """

    def decorator(func: Callable[..., R]) -> Any:
        @shared_task(name=f"{func.__module__}.{func.__name__}", **celery_options)
        @functools.wraps(func)
        def run(organization_id: int, *args: Any, **kwargs: Any) -> R:
            organization = Organization.objects.get(pk=organization_id)
            with ExitStack() as scope:
                if atomic:
                    scope.enter_context(transaction.atomic())
                scope.enter_context(tenant_context(organization))
                return func(organization, *args, **kwargs)

        return run

    return decorator


def enqueue(task: Any, organization: Organization, *args: Any, **kwargs: Any) -> None:
    """Queue a tenant task once the current transaction commits (never for rolled-back work)."""
    transaction.on_commit(lambda: task.delay(organization.pk, *args, **kwargs))
