"""Mail routes under /api/v1/integrations (seed 002's email section and seed 003's mailboxes)."""

from django.urls import include, path

urlpatterns = [
    path("", include("integrations.mail.api.sync_urls")),
    path("", include("integrations.mail.api.matching_urls")),
    path("", include("integrations.mail.api.webhook_urls")),
    path("", include("integrations.mail.api.flags_urls")),
    path("", include("integrations.mail.api.inboxes_urls")),
    path("", include("integrations.mail.api.reading_urls")),
    path("", include("integrations.mail.api.inbox_urls")),
]
