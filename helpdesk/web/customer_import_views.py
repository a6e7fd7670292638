"""Customer imports and exports in the agent UI: upload a CSV file, follow its progress
(the page polls), download the refused rows; export the customers list as CSV."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from helpdesk.auth.guard import requires
from helpdesk.auth.policy import Permission
from helpdesk.errors import DomainError, ValidationFailed
from helpdesk.extensions import db, unit_of_work
from helpdesk.models import CustomerImport
from helpdesk.services import customer_imports
from helpdesk.services.common import get_or_404
from helpdesk.web import bp
from helpdesk.web.actions import current_actor, error_text
from helpdesk.web.segment_views import chosen_segment

BULK = Permission.CUSTOMERS_IMPORT
ERRORS_SHOWN = 100
CSV = "text/csv"


@bp.get("/customers/imports")
@requires(BULK)
def customer_imports_page() -> ResponseReturnValue:
    return _list_page()


@bp.post("/customers/imports")
@requires(BULK)
def upload_customers() -> ResponseReturnValue:
    """Store the file (checked first) and go to its progress page."""
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise ValidationFailed(_("Choose a CSV file."), field="file")
        with unit_of_work() as uow:
            started = customer_imports.start_import(uow, current_actor(),
                                                    filename=file.filename,
                                                    content=file.read())
    except DomainError as exc:
        return _list_page(error_text(exc)), exc.status
    return redirect(url_for("web.customer_import", import_id=started.id))


@bp.get("/customers/imports/<int:import_id>")
@requires(BULK)
def customer_import(import_id: int) -> ResponseReturnValue:
    job = get_or_404(db.session, CustomerImport, import_id, field="import_id")
    return render_template("web/customer_import.html", job=job,
                           errors=customer_imports.import_errors(db.session, job.id)[
                               :ERRORS_SHOWN], errors_shown=ERRORS_SHOWN)


@bp.get("/customers/imports/<int:import_id>/progress")
@requires(BULK)
def customer_import_progress(import_id: int) -> ResponseReturnValue:
    """The progress bar alone (the page polls it until the import is finished)."""
    job = get_or_404(db.session, CustomerImport, import_id, field="import_id")
    return render_template("web/_import_progress.html", job=job)


@bp.get("/customers/imports/<int:import_id>/errors.csv")
@requires(BULK)
def customer_import_errors(import_id: int) -> ResponseReturnValue:
    """The refused rows' problems: row, column, message."""
    rows = [["row", "column", "message"], *(
        [str(e.row), e.column, e.message]
        for e in customer_imports.import_errors(db.session, import_id))]
    return Response("".join(map(customer_imports.csv_line, rows)), mimetype=CSV, headers={
        "Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'})


@bp.get("/customers/export.csv")
@requires(BULK)
def export_customers() -> ResponseReturnValue:
    """The customers list (its search and segment) as CSV, streamed."""
    segment = chosen_segment(request.args.get("segment", type=int))
    lines = customer_imports.export_lines(
        db.session_factory, search=request.args.get("q") or None,
        segment_id=segment.id if segment else None)
    return Response(stream_with_context(lines), mimetype=CSV, headers={
        "Content-Disposition": 'attachment; filename="customers.csv"'})


def _list_page(error: str | None = None) -> str:
    return render_template("web/customer_imports.html", error=error,
                           imports=customer_imports.recent_imports(db.session),
                           columns=customer_imports.COLUMNS)
