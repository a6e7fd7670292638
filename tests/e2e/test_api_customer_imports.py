"""/api/v1/customers/imports and /customers/export: upload a CSV (checked, stored), the
worker imports it, its progress and per-row errors; the streamed export."""

from __future__ import annotations

import csv
import io

import pytest

from helpdesk.jobs import run_customer_imports
from helpdesk.models import Role
from helpdesk.orm import utcnow
from tests.e2e.api_helpers import ApiClient, error_of
from tests.factories import Factory

BULK = ["customers:import", "customers:read"]


@pytest.fixture
def make(module_make) -> Factory:
    return module_make


@pytest.fixture
def api(module_app, make) -> ApiClient:
    user = make.user(Role.SUPERVISOR)
    return ApiClient(module_app.test_client(), make.token(user, BULK))


def upload(api, text: str, **query):
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    return api.post("/customers/imports" + (f"?{suffix}" if suffix else ""),
                    data=text.encode(), content_type="text/csv")


def work(app) -> None:
    with app.app_context():
        run_customer_imports(utcnow())


def test_an_upload_is_stored_then_imported_by_the_worker(module_app, api):
    started = upload(api, "name,email\nAda,ada.api@example.com\nBad,nope\n",
                     filename="crm.csv")
    body = started.get_json()
    assert started.status_code == 202, body
    assert (body["state"], body["total_rows"], body["processed_rows"], body["filename"]) == (
        "queued", 2, 0, "crm.csv")
    work(module_app)
    done = api.get(f"/customers/imports/{body['id']}").get_json()
    assert (done["state"], done["processed_rows"], done["created"], done["failed"]) == (
        "done", 2, 1, 1)
    assert api.get(f"/customers/imports/{body['id']}/errors").get_json()["items"] == [
        {"row": 3, "column": "email", "message": "'nope' is not an email address"}]
    assert body["id"] in [i["id"] for i in api.get("/customers/imports").get_json()["items"]]
    found = api.get("/customers?q=ada.api@example.com").get_json()["items"]
    assert [c["name"] for c in found] == ["Ada"]


def test_a_bad_upload_is_refused_at_once(api):
    not_csv = api.post("/customers/imports", json={"rows": []})
    assert (not_csv.status_code, error_of(not_csv)["code"]) == (415, "unsupported_media_type")
    unknown = upload(api, "name,mail\nAda,a@example.com\n")
    assert unknown.status_code == 422
    assert error_of(unknown)["fields"] == {"file": [
        "column 2 'mail' is not one of name, email, phone, external_id, language, timezone, "
        "organisation, nor attr:<attribute key>"]}
    latin = api.post("/customers/imports", data="email\nzoé@example.com\n".encode("latin-1"),
                     content_type="text/csv")
    assert "not UTF-8 text" in error_of(latin)["message"]


def test_the_export_streams_the_filtered_customers(module_app, make, api):
    make.customer("Zed Export", email="zed@export.example")
    make.customer("Yan Export", email="yan@export.example")
    response = api.get("/customers/export?q=export.example")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert 'filename="customers.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    response.close()  # as a server does: the streamed export's database session ends
    assert sorted((r["name"], r["email"]) for r in rows) == [
        ("Yan Export", "yan@export.example"), ("Zed Export", "zed@export.example")]
    segment = make.segment(conditions={"all": [
        {"field": "email_domain", "op": "is", "value": "export.example"}]})
    only = api.get(f"/customers/export?segment_id={segment.id}&q=zed")
    assert [r["name"] for r in csv.DictReader(io.StringIO(only.get_data(as_text=True)))] == [
        "Zed Export"]
    only.close()
