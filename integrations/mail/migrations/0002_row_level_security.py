from django.db import migrations

from crm.tenancy import EnableRowLevelSecurity

TENANT_MODELS = [
    "sharedinbox",
    "sharedinboxassignee",
    "mailbox",
    "mailfolder",
    "mailthread",
    "message",
    "messagecopy",
    "participant",
    "attachment",
    "syncrun",
    "syncfailure",
    "threadlink",
    "addressrule",
    "blocklistentry",
]


class Migration(migrations.Migration):
    dependencies = [("mail", "0001_initial")]

    operations = [EnableRowLevelSecurity(name) for name in TENANT_MODELS]
