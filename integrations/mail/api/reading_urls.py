"""Reading routes under /api/v1/integrations (see integrations/mail/api/reading.py)."""

from django.urls import path

from integrations.mail.api import reading

urlpatterns = [
    path("email/thread/<int:pk>", reading.ThreadView.as_view(), name="email-thread"),
    path("email/messages/<int:pk>", reading.MessageView.as_view(), name="email-message"),
    path(
        "email/messages/<int:pk>/attachments/<int:attachmentId>",
        reading.AttachmentView.as_view(),
        name="email-message-attachment",
    ),
    path(
        "email/messages/<int:pk>/attachments/<int:attachmentId>/preview",
        reading.AttachmentPreviewView.as_view(),
        name="email-message-attachment-preview",
    ),
]
