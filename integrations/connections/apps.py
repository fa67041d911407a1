from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "integrations.connections"
    label = "connections"
    verbose_name = "Connections"
    default_auto_field = "django.db.models.BigAutoField"
