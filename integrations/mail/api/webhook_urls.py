"""Push webhooks under /api/v1/integrations: called by Google Pub/Sub and Microsoft Graph."""

from django.urls import path

from integrations.mail.api import webhooks

urlpatterns = [
    path("webhooks/google", webhooks.GoogleWebhookView.as_view(), name="webhook-google"),
    path("webhooks/microsoft", webhooks.MicrosoftWebhookView.as_view(), name="webhook-microsoft"),
]
