"""A small shop's knowledge base for the assistant's tests, in the import format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def article(key: str, title: str, body: str, questions: list[str]) -> dict[str, Any]:
    return {"id": key, "title": title, "body": body, "language": "en", "category": "shop",
            "tags": [], "audience": "public", "status": "published",
            "example_questions": questions}


ARTICLES = [
    article("parcel", "Track your parcel",
            "# Tracking\nEvery shipment has a tracking number in the confirmation email. "
            "Open the link to see where your parcel is.\n\n# Delays\nCarriers deliver "
            "within three working days.",
            ["Where is my order?", "My package hasn't arrived yet", "how do I track my parcel",
             "when will my delivery come", "the courier is late", "tracking number missing"]),
    article("refund", "Refunds",
            "We refund returned items within 14 days, to the card you paid with. Refunds "
            "appear on your statement within five working days.",
            ["Can I get my money back?", "how long does a refund take", "I want a refund",
             "refund not received yet", "where is my reimbursement", "refund to my card"]),
    article("password", "Reset your password",
            "Click **Forgot password** on the login page and follow the link we e-mail you.",
            ["I forgot my password", "can't log in to my account", "reset password link",
             "password reset email not received", "how to change my password",
             "locked out of my account"]),
    article("address", "Change the delivery address",
            "You can change the address of an order until it ships, from **My orders**.",
            ["change my delivery address", "wrong shipping address", "ship to another address",
             "update the address on my order", "I moved, new address for my order",
             "edit delivery address"]),
    article("cancel", "Cancel an order",
            "Orders can be cancelled until they ship. After that, return the parcel instead.",
            ["cancel my order", "I ordered by mistake", "how do I cancel a purchase",
             "stop my order", "undo my order", "can I still cancel"]),
    article("payment", "Payment methods",
            "We accept Visa, Mastercard, PayPal and gift cards. We do not accept cheques.",
            ["which cards do you accept", "can I pay with PayPal", "payment options",
             "do you take cheques", "can I pay by Mastercard", "accepted payment methods"]),
    article("giftcard", "Gift cards",
            "Gift cards are valid for one year and can be used online or in store.",
            ["how long is a gift card valid", "use my gift card online", "gift card expired",
             "buy a gift card", "gift card balance", "can I use a gift card in store"]),
    article("hours", "Store opening hours",
            "Our stores open Monday to Saturday, 9 am to 7 pm, and are closed on Sundays.",
            ["when are you open", "opening hours", "are you open on Sunday",
             "what time does the store close", "store hours on Saturday",
             "is the shop open today"]),
]

IN_SCOPE = [
    ("the delivery guy still hasn't brought my stuff", "parcel"),
    ("how many days until I see my money back on my card", "refund"),
    ("I can't remember my password", "password"),
    ("can I send my order to my office instead", "address"),
    ("what time do your shops close on weekdays", "hours"),
    ("do you accept PayPal payments", "payment"),
]
OUT_OF_SCOPE = [
    "do you sell electric bikes?",
    "can I pay my income tax here?",
    "what is the weather tomorrow in Lyon?",
]


def write_kb(path: Path) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    return path


def write_questions(path: Path) -> Path:
    lines = [{"text": t, "expected": e} for t, e in IN_SCOPE]
    lines += [{"text": t, "expected": None} for t in OUT_OF_SCOPE]
    path.write_text("".join(json.dumps(q) + "\n" for q in lines), encoding="utf-8")
    return path
