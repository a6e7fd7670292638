"""SQLAlchemy 2 typed models, one module per aggregate."""

from helpdesk.models.automation import Rule, RuleRun, RuleTrigger, RunOutcome
from helpdesk.models.call import Call, CallEvent, CallEventKind, CallStatus
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
from helpdesk.models.custom_field import CustomFieldDefinition, FieldSubject, FieldType
from helpdesk.models.customer import CONSENT_FLAGS, Customer, Identity, IdentityKind
from helpdesk.models.customer_import import CustomerImport, CustomerImportError, ImportState
from helpdesk.models.customer_merge import KEPT_ON_MERGE, CustomerMerge, MergeReason
from helpdesk.models.macro import Macro
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
from helpdesk.models.organisation import Organisation, OrganisationDomain
from helpdesk.models.privacy import (
    DataRequest,
    DataRequestKind,
    DataRequestState,
    RetentionSetting,
)
from helpdesk.models.queue import Queue, QueueMembership, RoutingStrategy
from helpdesk.models.saved_view import SavedView
from helpdesk.models.segment import Segment
from helpdesk.models.site import Site
from helpdesk.models.sla import (
    BusinessCalendar,
    ConversationSla,
    Holiday,
    SlaAction,
    SlaBreach,
    SlaDeadline,
    SlaMetric,
    SlaPolicy,
    SlaTarget,
)
from helpdesk.models.staff import ApiToken, Presence, PresenceChange, Role, User
from helpdesk.models.timeline import AuditLog, TimelineEvent

__all__ = [
    "CONSENT_FLAGS",
    "KEPT_ON_MERGE",
    "ApiToken",
    "Attachment",
    "AuditLog",
    "AuthorKind",
    "BusinessCalendar",
    "Call",
    "CallEvent",
    "CallEventKind",
    "CallStatus",
    "Channel",
    "Conversation",
    "ConversationParticipant",
    "ConversationSla",
    "ConversationStatus",
    "ConversationTag",
    "CustomFieldDefinition",
    "Customer",
    "CustomerImport",
    "CustomerImportError",
    "CustomerMerge",
    "DataRequest",
    "DataRequestKind",
    "DataRequestState",
    "EmailMessageRef",
    "FieldSubject",
    "FieldType",
    "Holiday",
    "Identity",
    "IdentityKind",
    "ImportState",
    "InboundEmail",
    "InboundSource",
    "InboundState",
    "IntakeOutcome",
    "Macro",
    "Mailbox",
    "MailboxSecurity",
    "MergeReason",
    "Message",
    "Notification",
    "Organisation",
    "OrganisationDomain",
    "OutboundEmail",
    "OutboundKind",
    "OutboundState",
    "Owner",
    "Presence",
    "PresenceChange",
    "Priority",
    "Queue",
    "QueueMembership",
    "RetentionSetting",
    "Role",
    "RoutingStrategy",
    "Rule",
    "RuleRun",
    "RuleTrigger",
    "RunOutcome",
    "SavedView",
    "Segment",
    "Site",
    "SlaAction",
    "SlaBreach",
    "SlaDeadline",
    "SlaMetric",
    "SlaPolicy",
    "SlaTarget",
    "ThreadRule",
    "TimelineEvent",
    "User",
]
