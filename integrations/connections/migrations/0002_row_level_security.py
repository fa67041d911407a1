from django.db import migrations

from crm.tenancy import EnableRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("connections", "0001_initial")]

    operations = [
        EnableRowLevelSecurity("connection"),
        EnableRowLevelSecurity("oauthstate"),
        EnableRowLevelSecurity("directorytenant"),
    ]
