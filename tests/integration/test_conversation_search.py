"""Full-text search over conversations on both databases: subjects and message bodies,
accents and case folded, every term required, -excluded terms, relevance first."""

import pytest
from sqlalchemy import update

from helpdesk.events import Actor
from helpdesk.models import Conversation, ConversationStatus, Message
from helpdesk.services import conversations
from helpdesk.services.conversations import NewMessage
from helpdesk.services.queries import (
    ConversationFilter,
    Sort,
    count_conversations,
    list_conversations,
)


def found(session, text, **filters):
    page = list_conversations(session, ConversationFilter(search=text, **filters),
                              per_page=100)
    assert page.total == count_conversations(session, ConversationFilter(search=text,
                                                                          **filters))
    return [c.id for c in page.items]


def reply(uow, conv, body, agent_id):
    conversations.post_message(uow, conv.id, NewMessage(body=body,
                                                        author=Actor("agent", agent_id)))


@pytest.fixture
def corpus(make):
    refund = make.conversation(subject="Demande de remboursement",
                               body="Bonjour, le colis est arrivé cassé.")
    claim = make.conversation(subject="Commande 1042",
                              body="Je fais une réclamation : l'article ne marche pas.")
    parcel = make.conversation(subject="Where is my parcel?",
                               body="My parcel never arrived, I want a refund.")
    return {"refund": refund.id, "claim": claim.id, "parcel": parcel.id}


def test_words_are_found_in_subjects_and_bodies_whatever_the_accents_and_case(uow, corpus):
    assert found(uow.session, "remboursement") == [corpus["refund"]]
    assert found(uow.session, "REMBOURSEMENT") == [corpus["refund"]]
    assert found(uow.session, "réclamation") == [corpus["claim"]]
    assert found(uow.session, "reclamation") == [corpus["claim"]]
    assert found(uow.session, "arrive") == [corpus["refund"]]  # "arrivé"
    assert found(uow.session, "1042") == [corpus["claim"]]


def test_every_term_is_required_but_may_be_in_different_messages(uow, make, corpus):
    agent = make.user()
    conv = uow.session.get(Conversation, corpus["parcel"])
    reply(uow, conv, "We are sorry: the carrier lost it.", agent.id)
    assert found(uow.session, "parcel carrier") == [corpus["parcel"]]
    assert found(uow.session, "parcel colis") == []


def test_phrases_and_exclusions(uow, corpus):
    assert found(uow.session, '"never arrived"') == [corpus["parcel"]]
    assert found(uow.session, '"arrived never"') == []
    assert sorted(found(uow.session, "colis or parcel")) == sorted([corpus["refund"],
                                                                    corpus["parcel"]])
    assert found(uow.session, '"or"') == []  # quoted, a word
    assert found(uow.session, "parcel -refund") == []
    assert sorted(found(uow.session, "-parcel")) == sorted([corpus["refund"], corpus["claim"]])


def test_query_syntax_is_never_an_error(uow, corpus):
    for text in ['"', '-', 'a"b', 'NEAR(x y)', "x*", "^", "'; DROP TABLE messages; --",
                 "col:umn", "AND", "(", "!!!", "___"]:
        found(uow.session, text)  # no exception, whatever it finds
    assert found(uow.session, "!!!") == []


def test_internal_notes_are_searchable(uow, make, corpus):
    agent = make.user()
    conversations.post_message(uow, corpus["claim"], NewMessage(
        body="Escalade au fournisseur Acmé", author=Actor("agent", agent.id), internal=True))
    assert found(uow.session, "acme") == [corpus["claim"]]


def test_the_index_follows_edits_and_deletes(uow, corpus):
    uow.session.execute(update(Message).where(Message.conversation_id == corpus["claim"])
                        .values(body="Tout est réglé"))
    uow.session.execute(update(Conversation).where(Conversation.id == corpus["claim"])
                        .values(subject="Résolu"))
    uow.session.commit()
    assert found(uow.session, "reclamation") == []
    assert found(uow.session, "regle resolu") == [corpus["claim"]]


def test_search_combines_with_the_other_filters(uow, corpus):
    conversations.change_status(uow, Actor("system"), corpus["parcel"],
                                ConversationStatus.SOLVED)
    assert found(uow.session, "parcel", statuses=[ConversationStatus.NEW]) == []
    assert found(uow.session, "parcel", statuses=[ConversationStatus.SOLVED]) == [
        corpus["parcel"]]


def test_the_best_match_comes_first(uow, make):
    agent = make.user()
    once = make.conversation(subject="Question", body="Un souci de facture ce mois-ci.")
    subject = make.conversation(subject="Facture en double", body="Voir ci-dessous.")
    many = make.conversation(subject="Aide", body="Facture, facture : la facture est fausse.")
    reply(uow, uow.session.get(Conversation, once.id), "Merci, nous regardons.", agent.id)
    ranked = found(uow.session, "facture")
    assert ranked[0] == subject.id  # the subject weighs most
    assert set(ranked) == {once.id, subject.id, many.id}
    by_recency = list_conversations(uow.session, ConversationFilter(search="facture"),
                                    sort=Sort.RECENT).items
    assert by_recency[0].id == once.id  # the latest activity
