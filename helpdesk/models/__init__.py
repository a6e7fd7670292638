"""SQLAlchemy 2 typed models, one module per aggregate."""

from helpdesk.models.conversation import (
    Attachment,
    AuthorKind,
    Channel,
    Conversation,
    ConversationStatus,
    ConversationTag,
    Message,
    Owner,
    Priority,
)
from helpdesk.models.customer import CONSENT_FLAGS, Customer, Identity, IdentityKind
from helpdesk.models.mail import (
    ConversationParticipant,
    EmailMessageRef,
    InboundEmail,
    InboundSource,
    InboundState,
    IntakeOutcome,
    Mailbox,
    MailboxSecurity,
    OutboundEmail,
    OutboundKind,
    OutboundState,
    ThreadRule,
)
from helpdesk.models.notification import Notification
from helpdesk.models.queue import Queue, QueueMembership, RoutingStrategy
from helpdesk.models.site import Site
from helpdesk.models.staff import ApiToken, Presence, Role, User
from helpdesk.models.timeline import AuditLog, TimelineEvent

__all__ = [
    "CONSENT_FLAGS", "ApiToken", "Attachment", "AuditLog", "AuthorKind", "Channel",
    "Conversation", "ConversationParticipant", "ConversationStatus", "ConversationTag",
    "Customer", "EmailMessageRef", "Identity", "IdentityKind", "InboundEmail", "InboundSource",
    "InboundState", "IntakeOutcome", "Mailbox", "MailboxSecurity", "Message", "Notification",
    "OutboundEmail", "OutboundKind", "OutboundState", "Owner", "Presence", "Priority", "Queue",
    "QueueMembership", "Role", "RoutingStrategy", "Site", "ThreadRule", "TimelineEvent", "User",
]
