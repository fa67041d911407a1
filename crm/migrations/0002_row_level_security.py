from django.db import migrations

from crm.tenancy import EnableRowLevelSecurity

TENANT_MODELS = [
    "account",
    "accountdomain",
    "contact",
    "contactemail",
    "deal",
    "dealcontact",
    "task",
    "invitation",
    "apitoken",
]


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
