"""Staff notifications: stored once per active person, pushed to their room after commit,
read only by their owner."""

from __future__ import annotations

from helpdesk.extensions import unit_of_work
from helpdesk.models import Role
from helpdesk.services import notifications


def test_notify_stores_one_row_per_active_user_and_publishes_after_commit(app, make):
    alice, bob = make.user(role=Role.AGENT), make.user(role=Role.AGENT)
    gone = make.user(role=Role.AGENT, active=False)
    conversation = make.conversation()
    published = []
    app.extensions["comptoir.events"].subscribe(
        notifications.events.NotificationCreated, published.append)
    with app.app_context(), unit_of_work() as uow:
        rows = notifications.notify(uow, [alice.id, alice.id, bob.id, gone.id, 999_999],
                                    kind="mention", text="x" * 600,
                                    conversation_id=conversation.id)
        assert published == []  # nothing before the commit
        uow.commit()
    assert sorted(r.user_id for r in rows) == sorted([alice.id, bob.id])
    assert {len(r.text) for r in rows} == {notifications.MAX_TEXT}
    assert sorted(e.user_id for e in published) == sorted([alice.id, bob.id])
    assert published[0].payload()["conversation_id"] == conversation.id


def test_unread_and_mark_read_only_touch_the_owners_notifications(app, make):
    alice, bob = make.user(role=Role.AGENT), make.user(role=Role.AGENT)
    with app.app_context(), unit_of_work() as uow:
        first, = notifications.notify(uow, [alice.id], kind="rule", text="one")
        second, = notifications.notify(uow, [alice.id], kind="rule", text="two")
        theirs, = notifications.notify(uow, [bob.id], kind="rule", text="bob's")
        uow.commit()
    with app.app_context(), unit_of_work() as uow:
        assert [n.text for n in notifications.unread(uow.session, alice.id)] == ["two", "one"]
        assert notifications.mark_read(uow, alice.id, [first.id, theirs.id]) == 1
    with app.app_context(), unit_of_work() as uow:
        assert [n.id for n in notifications.unread(uow.session, alice.id)] == [second.id]
        assert [n.id for n in notifications.unread(uow.session, bob.id)] == [theirs.id]
