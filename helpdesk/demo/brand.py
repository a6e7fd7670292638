"""Maison Lumière, the demo's fictional lamp and home-goods shop: staff, queues, customers.

Addresses use the reserved ``example.*`` domains and phone numbers from the ranges
set aside for fiction (ARCEP 01 99 00, Ofcom 07700 900, NANP 555-01xx).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpdesk.models import Channel, IdentityKind, Role, RoutingStrategy

BRAND = "Maison Lumière"
EMAIL, PHONE, VISITOR, EXTERNAL = (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.VISITOR,
                                   IdentityKind.EXTERNAL)
CHAT, MAIL, CALL, FORM = Channel.CHAT, Channel.EMAIL, Channel.PHONE, Channel.WEB_FORM


@dataclass(frozen=True)
class StaffMember:
    key: str
    name: str
    email: str
    role: Role
    locale: str
    skills: tuple[str, ...] = ()
    capacity: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueSpec:
    name: str
    description: str
    channels: tuple[Channel, ...]
    routing: RoutingStrategy
    members: tuple[str, ...]


@dataclass(frozen=True)
class CustomerSpec:
    key: str
    name: str
    language: str
    timezone: str
    identities: tuple[tuple[IdentityKind, str], ...]
    attributes: dict[str, Any] = field(default_factory=dict)
    consents: dict[str, bool] = field(default_factory=dict)
    # A walk-in is created by their first contact (e.g. an anonymous chat), not imported.
    walk_in: bool = False


@dataclass(frozen=True)
class AttributeSpec:
    """A custom attribute of customers (or of organisations)."""

    key: str
    label: str
    type: str
    options: tuple[str, ...] = ()
    subject: str = "customer"


@dataclass(frozen=True)
class OrganisationSpec:
    """A company; customers with an address at one of its domains join it when created,
    ``members`` (customer keys) are added to it afterwards."""

    name: str
    domains: tuple[str, ...] = ()
    notes: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    members: tuple[str, ...] = ()


AGENT_CAPACITY = {"chat": 3, "email": 15, "phone": 1}

# The admin comes last: the loader creates it last, so its account marks a complete demo.
STAFF = (
    StaffMember("helene", "Hélène Marchand", "helene.marchand@maison-lumiere.example",
                Role.SUPERVISOR, "fr", ("fr", "en", "billing"), AGENT_CAPACITY),
    StaffMember("julien", "Julien Petit", "julien.petit@maison-lumiere.example", Role.AGENT,
                "fr", ("fr", "billing"), AGENT_CAPACITY),
    StaffMember("sarah", "Sarah Mitchell", "sarah.mitchell@maison-lumiere.example", Role.AGENT,
                "en", ("en", "returns"), AGENT_CAPACITY),
    StaffMember("karim", "Karim Benali", "karim.benali@maison-lumiere.example", Role.AGENT,
                "fr", ("fr", "en", "returns", "lighting"), AGENT_CAPACITY),
    StaffMember("lea", "Léa Fontaine", "lea.fontaine@maison-lumiere.example",
                Role.KNOWLEDGE_MANAGER, "fr"),
    StaffMember("camille", "Camille Roux", "admin@maison-lumiere.example", Role.ADMIN, "fr"),
)
ADMIN = STAFF[-1]

QUEUES = (
    QueueSpec("Support FR", "Questions et suivi de commande des clients francophones",
              (CHAT, MAIL, CALL, FORM), RoutingStrategy.ROUND_ROBIN, ("julien", "karim")),
    QueueSpec("Support EN", "English-speaking customers: orders, products, delivery",
              (CHAT, MAIL, CALL, Channel.API), RoutingStrategy.LEAST_LOADED, ("sarah", "karim")),
    QueueSpec("Billing", "Facturation, remboursements, devis pro / invoices and refunds",
              (MAIL, CALL, FORM), RoutingStrategy.MANUAL, ("helene", "julien", "sarah")),
    QueueSpec("Returns", "Retours, échanges et produits abîmés / returns and exchanges",
              (CHAT, MAIL, FORM), RoutingStrategy.SKILLS, ("karim", "sarah")),
)


ATTRIBUTES = (
    AttributeSpec("loyalty_tier", "Loyalty tier", "select",
                  ("none", "bronze", "silver", "gold", "pro")),
    AttributeSpec("orders", "Orders", "number"),
    AttributeSpec("country", "Country", "text"),
    AttributeSpec("segment", "Segment", "select", ("b2c", "b2b")),
    AttributeSpec("preferred_channel", "Preferred contact channel", "select",
                  ("email", "chat", "phone")),
    AttributeSpec("birthday", "Birthday", "date"),
    AttributeSpec("vat_number", "VAT number", "text"),
    AttributeSpec("account_type", "Account type", "select", ("retail", "trade"),
                  subject="organisation"),
)

ORGANISATIONS = (
    OrganisationSpec("Atelier Lumen", ("atelier-lumen.example.com",),
                     "Lighting designers; trade account, invoices paid at 30 days.",
                     {"account_type": "trade"}),
    OrganisationSpec("Laurent Design inc.", (), "Interior design studio in Montréal.",
                     {"account_type": "retail"}, members=("sophie",)),
)


def _profile(tier: str, orders: int, country: str, **extra: Any) -> dict[str, Any]:
    return {"loyalty_tier": tier, "orders": orders, "country": country, **extra}


def _consents(marketing: bool, sms: bool = False) -> dict[str, bool]:
    return {"data_processing": True, "marketing_email": marketing, "marketing_sms": sms,
            "call_recording": True}


CUSTOMERS = (
    CustomerSpec("claire", "Claire Dubois", "fr", "Europe/Paris",
                 ((EMAIL, "claire.dubois@example.com"), (PHONE, "+33199001234"),
                  (EXTERNAL, "shop-10482")),
                 _profile("gold", 11, "FR", birthday="1984-06-02", preferred_channel="phone"),
                 _consents(True, True)),
    CustomerSpec("thomas", "Thomas Lefèvre", "fr", "Europe/Paris",
                 ((EMAIL, "thomas.lefevre@example.net"), (VISITOR, "v-3f9a1c20")),
                 _profile("silver", 4, "FR"), _consents(False)),
    CustomerSpec("manon", "Manon Girard", "fr", "Europe/Paris",
                 ((EMAIL, "manon.girard@example.org"), (PHONE, "+33199004410")),
                 _profile("bronze", 2, "FR"), _consents(True)),
    CustomerSpec("antoine", "Antoine Moreau", "fr", "Europe/Brussels",
                 ((EMAIL, "antoine.moreau@example.com"), (PHONE, "+33199007788")),
                 _profile("silver", 5, "BE"), _consents(False)),
    CustomerSpec("sophie", "Sophie Laurent", "fr", "America/Montreal",
                 ((EMAIL, "sophie.laurent@example.org"), (EXTERNAL, "shop-11873")),
                 _profile("gold", 9, "CA", preferred_channel="email"), _consents(True)),
    CustomerSpec("nicolas", "Nicolas Bernard", "fr", "Europe/Paris",
                 ((EMAIL, "nicolas.bernard@example.net"),),
                 _profile("none", 0, "FR"), _consents(False)),
    CustomerSpec("elodie", "Élodie Rousseau", "fr", "Europe/Zurich",
                 ((EMAIL, "elodie.rousseau@example.com"), (PHONE, "+33199002021")),
                 _profile("silver", 6, "CH"), _consents(True)),
    CustomerSpec("hugo", "Hugo Mercier", "fr", "Europe/Paris",
                 ((PHONE, "+33199005566"),),
                 _profile("bronze", 1, "FR"), _consents(False)),
    CustomerSpec("juliette", "Juliette Fabre", "fr", "Europe/Paris",
                 ((EMAIL, "juliette.fabre@example.org"), (VISITOR, "v-81d2e7aa"),
                  (EXTERNAL, "shop-12090")),
                 _profile("gold", 14, "FR"), _consents(True, True)),
    CustomerSpec("lumen", "Atelier Lumen (SARL)", "fr", "Europe/Paris",
                 ((EMAIL, "achats@atelier-lumen.example.com"), (EXTERNAL, "pro-0042")),
                 _profile("pro", 23, "FR", segment="b2b", vat_number="FR00123456789"),
                 _consents(True)),
    CustomerSpec("emma", "Emma Collins", "en", "Europe/London",
                 ((EMAIL, "emma.collins@example.com"), (PHONE, "+447700900123")),
                 _profile("silver", 3, "GB"), _consents(True)),
    CustomerSpec("james", "James O'Connor", "en", "Europe/Dublin",
                 ((EMAIL, "james.oconnor@example.net"), (VISITOR, "v-c40b9e12")),
                 _profile("bronze", 1, "IE"), _consents(False)),
    CustomerSpec("olivia", "Olivia Bennett", "en", "America/New_York",
                 ((EMAIL, "olivia.bennett@example.com"), (PHONE, "+12025550143"),
                  (EXTERNAL, "shop-13311")),
                 _profile("gold", 8, "US"), _consents(True)),
    CustomerSpec("liam", "Liam Walker", "en", "Europe/London",
                 ((EMAIL, "liam.walker@example.org"),),
                 _profile("bronze", 2, "GB"), _consents(True, True)),
    CustomerSpec("priya", "Priya Sharma", "en", "Europe/London",
                 ((EMAIL, "priya.sharma@example.com"), (PHONE, "+447700900456")),
                 _profile("silver", 5, "GB"), _consents(False)),
    CustomerSpec("noah", "Noah Schmidt", "en", "Europe/Berlin",
                 ((EMAIL, "noah.schmidt@example.net"), (EXTERNAL, "shop-13502")),
                 _profile("bronze", 1, "DE"), _consents(False)),
    CustomerSpec("grace", "Grace Kim", "en", "America/Toronto",
                 ((EMAIL, "grace.kim@example.org"), (VISITOR, "v-5e6f7a8b")),
                 _profile("none", 0, "CA"), _consents(True)),
    CustomerSpec("daniel", "Daniel Evans", "en", "Europe/London",
                 ((EMAIL, "daniel.evans@example.com"), (EXTERNAL, "shop-09977")),
                 _profile("silver", 7, "GB"), _consents(False)),
    CustomerSpec("chloe", "Chloé Martin-Smith", "en", "Europe/Paris",
                 ((EMAIL, "chloe.ms@example.net"), (PHONE, "+33199003300"),
                  (VISITOR, "v-9a0b1c2d")),
                 _profile("bronze", 2, "FR"), _consents(True)),
    CustomerSpec("amelie", "Amélie Petit", "fr", "Europe/Paris",
                 ((EMAIL, "amelie.petit@example.com"),), walk_in=True),
    CustomerSpec("visitor", "", "fr", "Europe/Paris",
                 ((VISITOR, "v-77e0d415"),), walk_in=True),
)
