"""Seed 002's e-mail matching and the blocklist, under /api/v1/integrations."""

from django.urls import path

from integrations.mail.api import matching

urlpatterns = [
    path("email/match", matching.EmailMatchView.as_view(), name="email-match"),
    path("email/blocklist", matching.BlocklistView.as_view(), name="email-blocklist"),
    path(
        "email/blocklist/<str:pk>",
        matching.BlocklistEntryView.as_view(),
        name="email-blocklist-entry",
    ),
]
