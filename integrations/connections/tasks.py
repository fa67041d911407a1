"""Background token refresh: proactive (beat) and on demand, with backoff on passing failures."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from crm.models import Organization
from crm.tasks import enqueue, tenant_task
from crm.tenancy import all_tenants
from integrations.connections import services
from integrations.connections.models import Connection, ConnectionStatus
from integrations.providers.base import ProviderUnavailable

logger = logging.getLogger(__name__)


@tenant_task(
    atomic=False,
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=30,
    retry_backoff_max=900,
    retry_jitter=True,
    max_retries=6,
)
def connection_refresh(organization: Organization, connection_id: int) -> None:
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return
    try:
        services.connection_refresh(connection=connection)
    except services.ConnectionUnusable:
        logger.info(
            "connection %s expired while refreshing; the user must reconnect", connection_id
        )


@shared_task(name="integrations.connections.tasks.connections_refresh_due")
def connections_refresh_due() -> int:
    """Beat: queue a refresh for every live connection whose token expires within the margin."""
    horizon = timezone.now() + timedelta(seconds=settings.TOKEN_REFRESH_MARGIN_SECONDS)
    with all_tenants():
        due = list(
            Connection.objects.unscoped()
            .filter(status=ConnectionStatus.CONNECTED, token_expires_at__lte=horizon)
            .values_list("organization_id", "pk")
        )
    for organization_id, connection_id in due:
        connection_refresh.delay(organization_id, connection_id)
    return len(due)


__all__ = ["connection_refresh", "connections_refresh_due", "enqueue"]
