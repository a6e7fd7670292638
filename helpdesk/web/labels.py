"""Translated names for the values the UI shows (statuses, channels, roles…)."""

from __future__ import annotations

from babel import Locale
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

LABELS: dict[str, dict[str, LazyString]] = {
    "status": {"new": _l("New"), "open": _l("Open"), "pending": _l("Pending"),
               "on_hold": _l("On hold"), "solved": _l("Solved"), "closed": _l("Closed")},
    "priority": {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"),
                 "urgent": _l("Urgent")},
    "channel": {"chat": _l("Chat"), "email": _l("Email"), "phone": _l("Phone"),
                "web_form": _l("Web form"), "api": _l("API")},
    "presence": {"online": _l("Online"), "away": _l("Away"), "offline": _l("Offline")},
    "identity": {"email": _l("Email"), "phone": _l("Phone"), "visitor": _l("Widget visitor"),
                 "external": _l("External ID")},
    "consent": {"marketing_email": _l("Marketing emails"), "marketing_sms": _l("Marketing SMS"),
                "call_recording": _l("Call recording"),
                "data_processing": _l("Data processing")},
    "author": {"customer": _l("Customer"), "agent": _l("Agent"), "bot": _l("Assistant"),
               "system": _l("System"), "automation": _l("A rule")},
    "role": {"admin": _l("Administrator"), "supervisor": _l("Supervisor"), "agent": _l("Agent"),
             "knowledge_manager": _l("Knowledge manager")},
    "owner": {"bot": _l("Assistant"), "queue": _l("Queue"), "agent": _l("Agent")},
    # Why the assistant handed a chat over (bot.responses.EscalationReason).
    "handoff": {"asked_for_human": _l("The customer asked to talk to a person"),
                "low_confidence": _l("The assistant was not confident enough to answer"),
                "no_articles": _l("No help article matched the question"),
                "unhelpful_streak": _l("Several answers in a row did not help"),
                "marked_unhelpful": _l("The customer said an answer did not help"),
                "assistant_handoff": _l("The assistant (Rasa) handed the conversation over")},
    "strategy": {"manual": _l("Manual"), "round_robin": _l("Round robin"),
                 "least_loaded": _l("Least loaded"), "skills": _l("Skills")},
    "routing_reason": {"no_members": _l("the queue has no members"),
                       "nobody_online": _l("none of the queue's members is online"),
                       "all_at_capacity": _l("every online member is at capacity")},
    "call_status": {"queued": _l("Waiting in queue"), "ringing": _l("Ringing"),
                    "in_progress": _l("In progress"), "completed": _l("Answered"),
                    "missed": _l("Missed"), "voicemail": _l("Voicemail")},
    # Event types the customer page's timeline can be filtered by.
    "event": {"message.posted": _l("Messages and notes"),
              "conversation.opened": _l("Conversations opened"),
              "conversation.status_changed": _l("Status changes"),
              "conversation.assigned": _l("Assignments"),
              "conversation.rated": _l("Satisfaction ratings"),
              "conversation.rating_changed": _l("Satisfaction ratings changed"),
              "customer.imported": _l("Customer imports"),
              "call.event": _l("Calls"), "call.notes_saved": _l("Call notes"),
              "email.auto_reply": _l("Automatic replies"),
              "email.bounced": _l("Undelivered emails"),
              "article.feedback": _l("Help-centre feedback"),
              "customer.updated": _l("Profile changes"),
              "customer.organisation_changed": _l("Organisation changes"),
              "identity.added": _l("Identities added"),
              "customer.merged": _l("Merges"), "customer.unmerged": _l("Merges undone")},
    "import_state": {"queued": _l("Waiting for the worker"), "running": _l("Importing"),
                     "done": _l("Done"), "failed": _l("Failed")},
    "merge_reason": {"agent": _l("an agent"),
                     "verified_identity": _l("the verified-identity rule")},
    "call_event": {"queued": _l("Call queued"), "ringing": _l("Call ringing"),
                   "answered": _l("Call answered"), "transferred": _l("Call transferred"),
                   "voicemail": _l("Voicemail left"), "missed": _l("Missed call"),
                   "ended": _l("Call ended")},
    "data_request": {"export": _l("Export"), "erasure": _l("Erasure")},
    "data_request_state": {"pending": _l("Waiting"), "running": _l("In progress"),
                           "done": _l("Done"), "failed": _l("Failed"),
                           "expired": _l("Archive deleted")},
    # What each retention rule deletes (helpdesk.privacy.retention.RULES).
    "retention": {"anonymous_chat": _l("Chats of anonymous visitors, after their last "
                                       "activity (then the visitors left without any)"),
                  "closed_chat": _l("Chat conversations, after they were solved or closed"),
                  "closed_email": _l("Email conversations, after they were solved or closed"),
                  "closed_phone": _l("Phone conversations (and their calls), after they were "
                                     "solved or closed"),
                  "closed_web_form": _l("Web form conversations, after they were solved or "
                                        "closed"),
                  "closed_api": _l("API conversations, after they were solved or closed"),
                  "email_sources": _l("Raw sources of received emails (the messages stay), "
                                      "after they arrived"),
                  "anonymous_visitors": _l("Anonymous visitors left without any conversation")},
}


def label(kind: str, value: object) -> LazyString | str:
    """The translated name of ``value`` (an enum member or its string), or the value itself."""
    if value is None:
        return ""
    key = getattr(value, "value", value)
    return LABELS[kind].get(str(key), str(key))


def language_name(code: str) -> str:
    """A language named in itself ("français", "English"), as language pickers do."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]
