from crm.models.records import (
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    Deal,
    DealContact,
    DealStage,
    Task,
    TaskStatus,
)
from crm.models.tenants import ApiToken, Invitation, Membership, Organization, Role, User

__all__ = [
    "Account",
    "AccountDomain",
    "ApiToken",
    "Contact",
    "ContactEmail",
    "Deal",
    "DealContact",
    "DealStage",
    "Invitation",
    "Membership",
    "Organization",
    "Role",
    "Task",
    "TaskStatus",
    "User",
]
