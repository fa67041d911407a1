"""Read / star / archive routes under /api/v1/integrations (see integrations/mail/api/flags.py).

``email/<int:pk>/…`` only matches numeric ids, so ``email/inbox`` and the other named
``email/…`` routes never reach these views.
"""

from django.urls import path

from integrations.mail.api import flags

urlpatterns = [
    path("email/<int:pk>/read", flags.MessageReadView.as_view(), name="email-read"),
    path("email/<int:pk>/star", flags.MessageStarView.as_view(), name="email-star"),
    path("email/<int:pk>/archive", flags.MessageArchiveView.as_view(), name="email-archive"),
    path("email/messages", flags.MessagesFlagsView.as_view(), name="email-messages-flags"),
]
