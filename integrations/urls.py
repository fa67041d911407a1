"""Everything under /api/v1/integrations (seed 002's contract)."""

from django.urls import include, path

urlpatterns = [
    path("", include("integrations.connections.urls")),
    path("", include("integrations.mail.urls")),
]
