import importlib
import importlib.util

from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "integrations.mail"
    label = "mail"
    verbose_name = "Mail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        for module in (
            "integrations.mail.receivers",
            "integrations.mail.signals",
            "integrations.mail.inbox_rows",
        ):
            if importlib.util.find_spec(module) is not None:
                importlib.import_module(module)
