"""The ``comptoir`` administration commands, through Flask's CLI runner on a real database."""

from helpdesk.extensions import db
from helpdesk.models import Role
from helpdesk.services import staff
from tests.factories import PASSWORD


def _ok(runner, *args: str):
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _fails(runner, *args: str, code: int = 1):
    """Run a command that must fail cleanly: a click error, never a traceback."""
    result = runner.invoke(args=list(args))
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


def test_users_create_then_list(runner):
    created = _ok(runner, "users", "create", "Nina@Shop.example", "--name", "Nina Roy",
                  "--role", "supervisor", "--password", PASSWORD)
    assert "created supervisor nina@shop.example" in created
    listing = _ok(runner, "users", "list")
    assert listing.splitlines()[0].split() == ["ID", "EMAIL", "ROLE", "NAME", "STATE"]
    rows = [line.split() for line in listing.splitlines()[1:]]
    assert [row[1:] for row in rows] == [["nina@shop.example", "supervisor", "Nina", "Roy",
                                          "active"]]


def test_users_create_reports_bad_input(runner, make):
    make.user(email="taken@shop.example")
    assert "at least 10 characters" in _fails(
        runner, "users", "create", "new@shop.example", "--password", "short")
    assert "exists" in _fails(
        runner, "users", "create", "taken@shop.example", "--password", PASSWORD)
    assert "not an email address" in _fails(
        runner, "users", "create", "nobody", "--password", PASSWORD)
    assert "Invalid value for '--role'" in _fails(
        runner, "users", "create", "x@shop.example", "--role", "owner", "--password", PASSWORD,
        code=2)


def test_users_list_with_nobody(runner):
    assert _ok(runner, "users", "list").strip() == "(none)"


def test_set_password_lets_the_user_log_in_with_it(runner, make, app):
    user = make.user(Role.ADMIN, email="boss@shop.example")
    output = _ok(runner, "users", "set-password", "BOSS@shop.example", "--password",
                 "a brand new secret")
    assert "password changed for boss@shop.example" in output and "/login" in output
    with app.app_context():
        assert staff.authenticate(db.session, user.email, "a brand new secret") is not None
        assert staff.authenticate(db.session, user.email, PASSWORD) is None


def test_set_password_reports_unknown_user_and_short_password(runner, make):
    make.user(email="known@shop.example")
    assert "no staff account has the email 'ghost@shop.example'" in _fails(
        runner, "users", "set-password", "ghost@shop.example", "--password", PASSWORD)
    assert "at least 10 characters" in _fails(
        runner, "users", "set-password", "known@shop.example", "--password", "short")


def test_users_token_prints_a_working_secret_once(runner, make, app):
    user = make.user()
    secret = _ok(runner, "users", "token", str(user.id), "--scope", "conversations:read").strip()
    with app.app_context():
        token = staff.token_owner(db.session, secret)
        assert token is not None and token.scopes == ["conversations:read"]
    assert "user 9999 does not exist" in _fails(
        runner, "users", "token", "9999", "--scope", "conversations:read")
    assert "Invalid value for '--scope'" in _fails(
        runner, "users", "token", str(user.id), "--scope", "everything", code=2)


def test_queues_list_shows_channels_routing_and_members(runner, make):
    agent = make.user()
    queue = make.queue("Support FR", member_ids=[agent.id])
    listing = _ok(runner, "queues", "list")
    assert listing.splitlines()[0].split() == ["ID", "NAME", "CHANNELS", "ROUTING", "MEMBERS"]
    assert listing.splitlines()[1].split() == [str(queue.id), "Support", "FR", "chat,email",
                                               "manual", str(agent.id)]


def test_db_commands_report_an_unknown_revision(runner):
    assert "Can't locate revision identified by 'nowhere'" in _fails(
        runner, "db", "downgrade", "nowhere")
    assert "code:" in _ok(runner, "db", "current")
