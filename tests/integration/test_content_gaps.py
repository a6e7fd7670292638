"""Content gaps on a real database (the fake embedder: texts sharing words are close):
escalated questions stored once, clustered incrementally, ranked, drafted into an article,
and forgotten on erasure."""

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import delete, func, select

from bot.handoff import hand_off, request_handoff
from bot.responses import EscalationReason
from helpdesk.errors import Conflict, NotFound, ValidationFailed
from helpdesk.events import Actor
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import AuditLog, Message, Role
from helpdesk.periodic import periodic_jobs
from helpdesk.services import chat, conversations
from helpdesk.services.conversations import BOT_ACTOR, NewMessage
from knowledge_base import gaps
from knowledge_base.gaps import drafting, service
from knowledge_base.gaps.queries import GapFilter, GapSort, get_gap, list_gaps
from knowledge_base.gaps.service import GapSettings
from knowledge_base.models import Article, ArticleStatus, ContentGapCluster, GapStatus
from knowledge_base.models import UnansweredQuestion as Question
from knowledge_base.search import search_service
from tests.integration.content_gaps import NOW, ask, cluster_of, clusters, reply

GIFT = ["do you sell gift cards", "gift cards for my friend", "buy gift cards online"]
PARCEL = ["parcel delivery late", "my parcel delivery is late again"]


def refresh() -> int:
    return gaps.refresh_now()


# Storing the escalated questions


def bot_chat(uow, site, text: str) -> int:
    visitor = chat.Visitor(site.id, chat.new_visitor_token())
    conversation_id = chat.start_chat(uow, site, visitor).id
    chat.send(uow, visitor, conversation_id, client_id="c-1", body=text)
    return conversation_id


def test_a_handoff_stores_the_customers_last_message_once(app, make, uow, silent_assistant):
    conversation_id = bot_chat(uow, make.site(), "Do you deliver on Sundays?")
    hand_off(uow, conversation_id, "asked_for_human")
    request_handoff(uow, conversation_id, "asked_for_human")  # a retry: nothing more
    [question] = uow.session.scalars(select(Question)).all()
    assert (question.text, question.reason, question.language, question.conversation_id) == (
        "Do you deliver on Sundays?", "asked_for_human", "en", conversation_id)
    assert uow.session.get(Message, question.message_id).body == question.text


def test_the_assistants_escalation_is_stored_once_with_its_score(app, make, uow):
    conversation_id = bot_chat(uow, make.site(), "zebra giraffe savanna")  # no article
    [question] = uow.session.scalars(select(Question)).all()
    assert question.conversation_id == conversation_id and question.message_id is not None
    # Which reason depends on the fake embedder; test_bot_engine checks them with the model.
    assert question.reason in set(EscalationReason)


# Clustering


def test_questions_are_clustered_by_meaning_and_later_ones_extend_the_clusters(app, make):
    for text in [GIFT[0], PARCEL[0], GIFT[1], "cancel my subscription"]:
        ask(make, text)
    with app.app_context():
        assert refresh() == 4
        assert clusters() == [[GIFT[0], GIFT[1]], [PARCEL[0]], ["cancel my subscription"]]
        before = {text: cluster_of(text) for text in (GIFT[0], PARCEL[0])}
    for text in [PARCEL[1], GIFT[2]]:
        ask(make, text)
    with app.app_context():
        assert refresh() == 2 and refresh() == 0
        assert clusters() == [GIFT, PARCEL, ["cancel my subscription"]]
        assert {text: cluster_of(text) for text in (GIFT[0], PARCEL[0])} == before
        cluster = db.session.get(ContentGapCluster, before[GIFT[0]])
        total = np.frombuffer(cluster.centroid, dtype=np.float32)
        assert cluster.size == 3
        assert np.allclose(total, search_service().embedder.encode(GIFT).sum(axis=0),
                           atol=1e-5)


def test_a_new_threshold_reclusters_and_the_clusters_keep_their_ids_and_verdicts(app, make,
                                                                                 uow):
    for text in [*GIFT, *PARCEL]:
        ask(make, text)
    with app.app_context():
        refresh()
        gift, parcel = cluster_of(GIFT[0]), cluster_of(PARCEL[0])
    service.set_status(uow, Actor("agent", make.user().id), gift, "dismissed")
    with app.app_context(), unit_of_work() as unit:
        model = search_service().model
        service.refresh(unit, GapSettings(model, 0.99), lambda: search_service().embedder)
        assert len(clusters()) == 5  # every question alone
        assert db.session.get(ContentGapCluster, gift).status == GapStatus.DISMISSED
    with app.app_context(), unit_of_work() as unit:
        service.refresh(unit, GapSettings(model, 0.45), lambda: search_service().embedder)
        assert clusters() == [GIFT, PARCEL]
        assert (cluster_of(GIFT[1]), cluster_of(PARCEL[1])) == (gift, parcel)
        assert db.session.get(ContentGapCluster, gift).status == GapStatus.DISMISSED


def test_the_worker_runs_the_clustering(app, make):
    ask(make, GIFT[0])
    [job] = [job for job in periodic_jobs(app) if job.name.startswith("content gaps")]
    assert job.every == 300.0
    with app.app_context():
        job.run(NOW)
        assert clusters() == [[GIFT[0]]]


# Ranking


def test_gaps_are_ranked_by_volume_or_by_growth_over_the_last_7_days(app, make):
    for days_ago in (1, 2, 9, 10):  # 2 this week, 2 the week before: growth 0
        ask(make, GIFT[days_ago % 3], days_ago=days_ago)
    for days_ago in (0.5, 3, 6.9):  # 3 this week: growth 3
        ask(make, PARCEL[int(days_ago) % 2], days_ago=days_ago)
    ask(make, "cancel my subscription", days_ago=20)
    with app.app_context():
        refresh()
        by_volume = list_gaps(db.session, GapFilter(), NOW).items
        assert [(g.questions, g.last_7_days, g.previous_7_days, g.growth) for g in by_volume] \
            == [(4, 2, 2, 0), (3, 3, 0, 3), (1, 0, 0, 0)]
        by_growth = list_gaps(db.session, GapFilter(sort=GapSort.GROWTH), NOW).items
        assert [g.questions for g in by_growth] == [3, 4, 1]
        assert by_growth[0].last_asked_at == NOW - timedelta(days=0.5)
        gift = by_volume[0]
        assert gift.label in GIFT and len(gift.examples) == 3
        assert [q.central_rank for q in gift.examples] == [1, 2, 3]


def test_filters_and_pages(app, make, uow):
    for text in [*GIFT, *PARCEL, "cancel my subscription"]:
        ask(make, text)
    with app.app_context():
        refresh()
    service.set_status(uow, Actor("agent", make.user().id), cluster_of(GIFT[0]), "dismissed")
    with app.app_context():
        page = list_gaps(db.session, GapFilter(), NOW, per_page=1)
        assert (page.total, page.pages, [g.label for g in page.items]) == (2, 2, [PARCEL[0]])
        dismissed = list_gaps(db.session, GapFilter(status=GapStatus.DISMISSED), NOW).items
        assert [g.cluster.id for g in dismissed] == [cluster_of(GIFT[0])]
        assert list_gaps(db.session, GapFilter(status=None, language="fr"), NOW).total == 0
        assert list_gaps(db.session, GapFilter(status=None), NOW, page=2).total == 3
        with pytest.raises(NotFound):
            get_gap(db.session, 999, NOW, examples=3)


# The managers' verdicts


def test_a_gap_is_dismissed_reopened_or_covered_by_an_article_and_audited(app, make, uow):
    gap = make.content_gap()
    manager = Actor("agent", make.user(Role.KNOWLEDGE_MANAGER).id)
    article = make.article()
    for status, field in (("covered", "article_id"), ("solved", "status")):
        with pytest.raises(ValidationFailed) as refused:
            service.set_status(uow, manager, gap, status)
        assert refused.value.field == field
    with pytest.raises(NotFound):
        service.set_status(uow, manager, gap, "covered", 4040)
    for status, article_id in (("dismissed", None), ("open", None), ("covered", article.id)):
        service.set_status(uow, manager, gap, status, article_id)
    cluster = uow.session.get(ContentGapCluster, gap, populate_existing=True)
    assert (cluster.status, cluster.article_id) == (GapStatus.COVERED, article.id)
    audit = uow.session.scalars(select(AuditLog).where(AuditLog.action ==
                                                       "content_gap.changed")).all()
    assert [(a.user_id, a.target_type, a.target_id, a.details["status"]) for a in audit] == [
        (manager.id, "content_gap", gap, s) for s in ("dismissed", "open", "covered")]


# Drafting


def test_a_draft_article_is_made_from_the_agents_public_replies_without_personal_data(
        app, make, uow):
    ada = make.customer("Ada Lovelace", "ada@example.com")
    first = ask(make, "Do you sell gift cards? I am Ada, call 06 12 34 56 78", ada)
    second = ask(make, GIFT[1])
    third = ask(make, GIFT[2])
    reply(make, first, "Hello Ada, yes: gift cards from 10 euros, in every shop. Write to "
                       "ada@example.com if needed.")
    reply(make, first, "Customer seems upset, be nice", internal=True)
    reply(make, second, "Yes, gift cards from 10 euros in every shop.")
    reply(make, third, "Sure, we sell gift cards online, any amount from 10 euros.")
    with app.app_context():
        refresh()
        gap = cluster_of(GIFT[1])
    manager = Actor("agent", make.user(Role.KNOWLEDGE_MANAGER).id)
    article = drafting.draft_article(uow, manager, gap, search_service(app).embedder)

    stored = uow.session.get(Article, article.id)
    assert (stored.status, stored.language, stored.author_id) == (ArticleStatus.DRAFT, "en",
                                                                 manager.id)
    assert stored.title in [*GIFT[1:], "Do you sell gift cards? I am [name], call [phone]"]
    assert "gift cards from 10 euros" in stored.body and "upset" not in stored.body
    assert "Ada" not in stored.body and "ada@example.com" not in stored.body
    assert "Hello [name]" in stored.body and "[email]" in stored.body
    assert sorted(stored.example_questions) == sorted(
        ["Do you sell gift cards? I am [name], call [phone]", *GIFT[1:]])
    cluster = uow.session.get(ContentGapCluster, gap, populate_existing=True)
    assert (cluster.status, cluster.article_id) == (GapStatus.COVERED, article.id)


def test_the_draft_holds_the_agents_words_as_text_and_nobody_elses(app, make, uow):
    bob = make.customer("Bob Martin")
    conversation_id = ask(make, "Can I pay by cheque?", bob)
    conversations.post_message(uow, conversation_id, NewMessage(
        body="I insist, my secret code is 4321", author=Actor("customer", bob.id)))
    conversations.post_message(uow, conversation_id, NewMessage(
        body="Connecting you to a colleague", author=BOT_ACTOR))
    reply(make, conversation_id, 'Tick <b>Cheque</b> & post it to "Shop" <script>alert(1)'
                                 '</script><img src=x onerror=alert(2)>')
    with app.app_context():
        refresh()
    article = drafting.draft_article(uow, Actor("agent", make.user().id),
                                     cluster_of("Can I pay by cheque?"),
                                     search_service(app).embedder)

    stored = uow.session.get(Article, article.id)
    assert stored.body == ('Tick \\<b>Cheque\\</b> \\& post it to "Shop" \\<script>alert(1)'
                           '\\</script>\\<img src=x onerror=alert(2)>')
    assert stored.body_html == (
        "<p>Tick &lt;b&gt;Cheque&lt;/b&gt; &amp; post it to \"Shop\" &lt;script&gt;alert(1)"
        "&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;</p>\n")
    assert stored.title == "Can I pay by cheque?"


def test_a_gap_nobody_replied_to_cannot_be_drafted(app, make, uow):
    conversation_id = ask(make, GIFT[0])
    reply(make, conversation_id, "Let me check", internal=True)
    with app.app_context():
        refresh()
    with pytest.raises(Conflict, match="no agent has replied"):
        drafting.draft_article(uow, Actor("agent", make.user().id), cluster_of(GIFT[0]),
                               search_service(app).embedder)
    assert uow.session.scalar(select(func.count()).select_from(Article)) == 0


# Erasure


def test_forgetting_a_customer_deletes_their_questions_and_what_derives_from_them(app, make):
    ada, bob = make.customer("Ada Lovelace"), make.customer("Bob Martin")
    ask(make, GIFT[0], ada)
    ask(make, GIFT[1], bob)
    ask(make, PARCEL[0], ada)
    with app.app_context():
        refresh()
        gift = cluster_of(GIFT[1])
    with app.app_context(), unit_of_work() as uow:
        assert gaps.forget_customer(uow.session, ada.id) == 2
        uow.commit()
    with app.app_context():
        assert db.session.scalars(select(Question.text)).all() == [GIFT[1]]
        assert clusters() == [[GIFT[1]]]  # the parcel cluster, left empty, is gone
        cluster = db.session.get(ContentGapCluster, gift)
        assert cluster.size == 1
        assert np.allclose(np.frombuffer(cluster.centroid, dtype=np.float32),
                           search_service().embedder.encode([GIFT[1]])[0], atol=1e-6)
        assert get_gap(db.session, gift, NOW, examples=5).label == GIFT[1]


def test_questions_deleted_with_their_message_leave_no_trace_after_the_next_run(app, make):
    kept, gone = ask(make, GIFT[0]), ask(make, GIFT[1])
    with app.app_context():
        refresh()
        gift = cluster_of(GIFT[0])
    with app.app_context(), unit_of_work() as uow:  # e.g. retention deleting a transcript
        uow.session.execute(delete(Message).where(Message.conversation_id == gone))
        uow.commit()
    with app.app_context():
        assert clusters() == [[GIFT[0]]]
        refresh()
        cluster = db.session.get(ContentGapCluster, gift)
        assert cluster.size == 1 and kept
        assert np.allclose(np.frombuffer(cluster.centroid, dtype=np.float32),
                           search_service().embedder.encode([GIFT[0]])[0], atol=1e-6)
