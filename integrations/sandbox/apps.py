from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """Only here so ``manage.py sandbox`` exists; the sandbox itself uses no Django."""

    name = "integrations.sandbox"
    label = "sandbox"
    verbose_name = "Provider sandbox"
    default_auto_field = "django.db.models.BigAutoField"
