"""visible_text: the reply without its quoted history and signature, in English and French."""

import pytest

from helpdesk.mail.visible import visible_text

HISTORY = [
    pytest.param("Hello\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan <megan@example.com> wrote:\n\n"
                 "> Hi\n> there", "Hello", id="gmail"),
    pytest.param("Bonjour,\nToujours rien reçu.\n\nLe mar. 4 juin 2024 à 10:12, Support "
                 "<support@shop.example> a écrit :\n> Votre colis est parti.",
                 "Bonjour,\nToujours rien reçu.", id="gmail-fr"),
    pytest.param("Merci\n\nLe 4 juin 2024 à 10:12, Support a écrit :\n\n> Bonjour",
                 "Merci", id="apple-mail-fr"),
    pytest.param("It works now.\n\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris Smith\n"
                 "<notifications@example.com>wrote:\n\n> Steps 0-2 are done.",
                 "It works now.", id="attribution-over-two-lines"),
    pytest.param("Thanks\n\nOn Wed, May 18, 2016 at 11:10 PM Steven <s@example.com>\nwrote:\n\n\n"
                 "Unquoted history follows\nand goes on", "Thanks",
                 id="unquoted-history-after-attribution"),
    pytest.param("Sure.\n\nFrom: Support [mailto:support@shop.example]\nSent: Monday, June 3, "
                 "2024 10:12 AM\nTo: Jean\nSubject: RE: Order 42\n\nHello Jean", "Sure.",
                 id="outlook"),
    pytest.param("Parfait.\n\n________________________________\nDe : Support "
                 "<support@shop.example>\nEnvoyé : lundi 3 juin 2024 10:12\nÀ : Jean\n"
                 "Objet : RE: Commande 42\n\nBonjour Jean", "Parfait.", id="outlook-fr"),
    pytest.param("OK\n\n*From:* Support [mailto:support@shop.example]\n*Sent:* Monday, June 3, "
                 "2024\n*To:* jean@example.fr\n*Subject:* Hi\n\nBody", "OK",
                 id="outlook-bold-headers"),
    pytest.param("Fine.\n\nDate: Thu, 26 Jun 2014 13:53:45 +0400\nSubject: Test\nFrom: "
                 "abc@example.com\nTo: alex@example.com\n\nHello! How are you?", "Fine.",
                 id="headers-starting-with-date"),
    pytest.param("Ça marche.\n\nThu, 26 Jun 2014 14:00:51 +0400 от Alexander <abc@example.com>:"
                 "\n> Hello!", "Ça marche.", id="attribution-with-time-and-address"),
    pytest.param("Yes please\n\n-----Original Message-----\nFrom: Support\nSent: today\n\nOld",
                 "Yes please", id="original-message"),
    pytest.param("D'accord\n\n-----Message d'origine-----\nDe : Support\n\nAncien",
                 "D'accord", id="message-d-origine"),
    pytest.param("See below\n\n---------- Forwarded message ---------\nFrom: Shop <s@shop.example>"
                 "\nDate: Mon, Jun 3, 2024\nSubject: Invoice\n\nYour invoice", "See below",
                 id="forwarded"),
    pytest.param("Voir ci-dessous\n\nDébut du message réexpédié :\n\nDe: Shop\nObjet: Facture",
                 "Voir ci-dessous", id="forwarded-fr"),
    pytest.param("> Is the order late?\nYes, by two days.\n\n> Can I cancel?\nNo, it has "
                 "shipped.\n", "Yes, by two days.\n\nNo, it has shipped.",
                 id="answers-between-quotes"),
    pytest.param("Megan wrote:\n> Hi\nHello", "Hello", id="attribution-without-date"),
]


@pytest.mark.parametrize(("text", "expected"), HISTORY)
def test_quoted_history_is_removed(text, expected):
    assert visible_text(text) == expected


def test_a_text_that_is_all_history_is_kept_whole():
    forward = "---------- Forwarded message ---------\nFrom: Shop\nSubject: Invoice\n\nPay"
    assert visible_text(forward) == forward
    assert visible_text("> only\n> quoted") == "> only\n> quoted"


def test_a_reply_above_a_russian_attribution_keeps_only_the_reply():
    text = "Hello\n02.04.2012 14:20 пользователь <bob@example.com> написал:\n\n> Hi"
    assert visible_text(text) == "Hello"


SIGNATURES = [
    pytest.param("Here it is.\n\n-- \nJean Dupont\nACME", "Here it is.", id="delimiter"),
    pytest.param("Here it is.\n\nSent from my iPhone", "Here it is.", id="iphone"),
    pytest.param("C'est noté.\n\nEnvoyé de mon iPhone", "C'est noté.", id="iphone-fr"),
    pytest.param("Ma commande n'est pas arrivée.\n\nCordialement,\nJean Dupont\nACME SAS\n"
                 "+33 6 12 34 56 78", "Ma commande n'est pas arrivée.", id="cordialement"),
    pytest.param("Any news?\n\nBest regards,\nJane", "Any news?", id="best-regards"),
    pytest.param("Got it.\n\n-Abhishek Kona\n\n_______\nlist footer\nhttp://lists.example.com",
                 "Got it.", id="dash-name-and-list-footer"),
]


@pytest.mark.parametrize(("text", "expected"), SIGNATURES)
def test_signatures_are_removed(text, expected):
    assert visible_text(text) == expected


def test_signatures_are_kept_on_request():
    text = "Hello\n\nSent from my iPhone\n\nOn Apr 3, 2012, at 4:19 PM, bob <b@example.com> " \
           "wrote:\n\n> Hi"
    assert visible_text(text, keep_signature=True) == "Hello\n\nSent from my iPhone"


NOT_SIGNATURES_OR_HISTORY = [
    pytest.param("Hi,\n\nThanks!\n\nThe parcel arrived but the box was damaged.\n"
                 "Can you send a new one?", id="thanks-then-more-message"),
    pytest.param("A fix -- this is not a signature.\n\nBye", id="dashes-mid-line"),
    pytest.param("On your host you can run:\n\n    telnet 127.0.0.1 52698\n\nThat's all.",
                 id="sentence-starting-with-on"),
    pytest.param("Le 3 juin, mon conseiller m'a écrit :\nvotre colis arrive demain.\nRien.",
                 id="a-ecrit-without-time-or-address"),
    pytest.param("Sent from a magnificent torch of pixels", id="sent-from-not-my"),
    pytest.param("- first point\n- second point", id="bullets"),
    pytest.param("From: Paris\nTo: Lyon\nTwo tickets please.", id="from-to-not-headers"),
]


@pytest.mark.parametrize("text", NOT_SIGNATURES_OR_HISTORY)
def test_ordinary_text_is_kept_whole(text):
    assert visible_text(text) == text


def test_blank_lines_are_squeezed_and_crlf_read():
    assert visible_text("\r\nOne\r\n\r\n\r\n\r\nTwo\r\n\r\n") == "One\n\nTwo"


def test_empty_text_stays_empty():
    assert visible_text("") == ""
