"""The agent UI's segments (list, form with its count, the customers list and the inbox
filtered by one) and customer imports (upload, progress, refused rows) and export."""

from __future__ import annotations

import io

import pytest

from helpdesk.jobs import run_customer_imports
from helpdesk.models import Role
from helpdesk.orm import utcnow
from tests.helpers import csrf_token


@pytest.fixture
def supervisor(make, auth):
    user = make.user(Role.SUPERVISOR, email="sue@staff.example")
    auth.login(user.email)
    return user


def row(i, field, op, value, key="", days=""):
    return {f"cond-{i}-field": field, f"cond-{i}-op": op, f"cond-{i}-value": value,
            f"cond-{i}-key": key, f"cond-{i}-days": days}


def test_a_segment_made_of_rows_counts_and_lists_its_customers(app, client, make, supervisor):
    ada = make.customer("Ada", email="ada@gold.example")
    make.customer("Bob", email="bob@silver.example")
    make.conversation(ada, subject="Gold parcel")
    make.conversation(make.customer("Cy", email="cy@silver.example"), subject="Silver parcel")
    form = {"name": "Gold shop", "description": "", "match": "all",
            **row(0, "email_domain", "in", "gold.example, other.example"),
            **row(1, "contacts", "gte", "1", days="30"), **row(2, "", "is", ""),
            "csrf_token": csrf_token(client, "/segments/new")}
    counted = client.post("/segments/count", data=form).get_data(as_text=True)
    assert "1 customer matches now." in counted
    saved = client.post("/segments/new", data={**form, "shared": "on"})
    assert saved.status_code == 302
    listing = client.get("/segments").get_data(as_text=True)
    assert "Gold shop" in listing and "Everyone" in listing and "1 customer" in listing
    segment_id = int(listing.split('/customers?segment=')[1].split('"')[0])
    customers = client.get(f"/customers?segment={segment_id}").get_data(as_text=True)
    assert "Ada" in customers and "Bob" not in customers
    inbox = client.get(f"/conversations?view=all&segment={segment_id}").get_data(as_text=True)
    assert "Gold parcel" in inbox and "Silver parcel" not in inbox
    edit = client.get(f"/segments/{segment_id}").get_data(as_text=True)
    assert 'value="gold.example, other.example"' in edit and 'value="30"' in edit


def test_bad_rows_are_shown_again_with_the_error(client, supervisor):
    form = {"name": "Broken", "match": "all", **row(0, "contacts", "gte", "3"),
            "csrf_token": csrf_token(client, "/segments/new")}
    refused = client.post("/segments/new", data=form)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "conditions.all[0].days: the window, in days back from now, is required" in text
    assert 'value="Broken"' in text


def test_an_import_from_upload_to_refused_rows(app, client, supervisor):
    page = client.get("/customers/imports").get_data(as_text=True)
    assert "attr:&lt;key&gt;" in page
    csv_file = (io.BytesIO(b"name,email\nAda,ada@example.com\nBad,not-an-email\n"), "crm.csv")
    started = client.post("/customers/imports", data={
        "file": csv_file, "csrf_token": csrf_token(client, "/customers/imports")},
        content_type="multipart/form-data")
    assert started.status_code == 302
    progress = client.get(started.location).get_data(as_text=True)
    assert "Waiting for the worker" in progress and 'hx-trigger="every 2s"' in progress
    with app.app_context():
        run_customer_imports(utcnow())
    done = client.get(started.location).get_data(as_text=True)
    assert 'value="2"' in done and "every 2s" not in done
    assert "&#39;not-an-email&#39; is not an email address" in done
    errors = client.get(started.location + "/errors.csv")
    assert errors.get_data(as_text=True) == (
        "row,column,message\r\n3,email,'not-an-email' is not an email address\r\n")


def test_a_bad_file_is_refused_on_the_upload_page(client, supervisor):
    refused = client.post("/customers/imports", data={
        "file": (io.BytesIO(b"nom,courriel\nAda,a@example.com\n"), "fr.csv"),
        "csrf_token": csrf_token(client, "/customers/imports")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "column 1 &#39;nom&#39; is not one of" in refused.get_data(as_text=True)


def test_the_customers_list_exports_what_it_shows(client, make, supervisor):
    make.customer("Ada Export", email="ada@export.example")
    make.customer("Bob Other", email="bob@other.example")
    listing = client.get("/customers?q=export").get_data(as_text=True)
    assert "/customers/export.csv?q=export" in listing
    with client.get("/customers/export.csv?q=export") as streamed:  # closed, as by a server
        exported = streamed.get_data(as_text=True)
    assert exported.splitlines()[1:] == ["Ada Export,ada@export.example,,,,,"]


def test_agents_neither_import_nor_export(client, make, auth):
    agent = make.user(Role.AGENT)
    auth.login(agent.email)
    assert client.get("/customers/imports").status_code == 403
    assert client.get("/customers/export.csv").status_code == 403
    assert "Import from CSV" not in client.get("/customers").get_data(as_text=True)
