"""Row lookups shared by the services: many rows locked at once, and the rows a
transaction holds (inserted itself, or locked outside any savepoint), which need no lock
nor a second read."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from helpdesk.errors import NotFound
from helpdesk.models import Customer
from helpdesk.services.common import existing_locked_rows, get_or_404, locked_rows


@pytest.fixture
def statements(uow):
    seen: list[str] = []
    engine = uow.session.get_bind()

    def note(_conn, _cursor, statement, *_rest):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_a_row_this_transaction_inserted_is_locked_without_a_query(uow, statements):
    customer = Customer(name="Ada")
    uow.session.add(customer)
    uow.session.flush()
    statements.clear()
    assert get_or_404(uow.session, Customer, customer.id, lock=True) is customer
    assert statements == []


def test_after_the_commit_the_lock_reads_the_row_again(uow, statements):
    customer = Customer(name="Ada")
    uow.session.add(customer)
    uow.session.commit()
    statements.clear()
    assert get_or_404(uow.session, Customer, customer.id, lock=True).name == "Ada"
    assert any("FROM customers" in s for s in statements)


def test_a_row_whose_insert_a_savepoint_undid_is_not_found(uow):
    with pytest.raises(RuntimeError), uow.session.begin_nested():
        customer = Customer(name="Ada")
        uow.session.add(customer)
        uow.session.flush()
        ident = customer.id
        raise RuntimeError("undo")
    with pytest.raises(NotFound, match=f"customer {ident} does not exist"):
        get_or_404(uow.session, Customer, ident, lock=True)


def test_many_rows_are_locked_in_id_order_and_a_missing_one_is_named(uow, make):
    first, second = make.customer("Ada"), make.customer("Bob")
    rows = locked_rows(uow.session, Customer, [second.id, first.id, second.id])
    assert [r.id for r in rows] == [first.id, second.id]
    with pytest.raises(NotFound, match=f"customer {second.id + 1} does not exist"):
        locked_rows(uow.session, Customer, [first.id, second.id + 1])


def test_a_row_locked_outside_any_savepoint_is_locked_again_without_a_query(uow, make,
                                                                            statements):
    ada, bob = make.customer("Ada"), make.customer("Bob")
    held = existing_locked_rows(uow.session, Customer, [ada.id, bob.id + 1])
    assert [c.id for c in held] == [ada.id]
    statements.clear()
    assert get_or_404(uow.session, Customer, ada.id, lock=True) is held[0]
    assert statements == []
    uow.session.commit()  # the lock ends with the transaction
    get_or_404(uow.session, Customer, ada.id, lock=True)
    assert any("FROM customers" in s for s in statements)


def test_a_row_locked_in_a_savepoint_is_locked_again_with_a_query(uow, make, statements):
    ada = make.customer("Ada")
    with uow.session.begin_nested():  # undone, it would release the lock
        existing_locked_rows(uow.session, Customer, [ada.id])
    statements.clear()
    get_or_404(uow.session, Customer, ada.id, lock=True)
    assert any("FROM customers" in s for s in statements)
