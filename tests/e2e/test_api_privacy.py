"""Privacy over the REST API: export (at once or by the worker), download, erasure with its
typed confirmation, the requests list, retention settings and their preview."""

from __future__ import annotations

import io
import zipfile

import pytest

from helpdesk.models import Role
from helpdesk.orm import utcnow
from helpdesk.privacy import build_exports, exports
from tests.e2e.api_helpers import EVERY_SCOPE, ApiClient, error_of


@pytest.fixture(scope="module")
def supervisor(module_app, module_make) -> ApiClient:
    return ApiClient(module_app.test_client(), module_make.token(
        module_make.user(Role.SUPERVISOR), EVERY_SCOPE))


@pytest.fixture(scope="module")
def admin(module_app, module_make) -> ApiClient:
    return ApiClient(module_app.test_client(), module_make.token(
        module_make.user(Role.ADMIN), EVERY_SCOPE))


def answered(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_small_export_is_ready_at_once_and_downloads_as_a_zip(supervisor, module_make):
    customer = module_make.customer(name="Zoé Export", email="zoe.export@example.com")
    module_make.conversation(customer, body="Mon colis, Zoé")
    request = answered(supervisor.post(f"/customers/{customer.id}/export"), 202)
    assert (request["kind"], request["state"]) == ("export", "done")
    assert request["counts"]["exported"]["messages"] == 1
    archive = supervisor.client.get(request["download_url"], headers=supervisor.headers)
    data = archive.get_data()
    archive.close()  # the file it streamed
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    assert archive.headers["Content-Disposition"].endswith(
        f"customer-{customer.id}-data-{request['id']}.zip")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "profile.json" in names and any(n.endswith(".txt") for n in names)


def test_a_large_export_waits_for_the_worker(supervisor, module_app, module_make,
                                             monkeypatch):
    monkeypatch.setattr(exports, "INLINE_MAX_ROWS", 0)
    customer = module_make.customer()
    request = answered(supervisor.post(f"/customers/{customer.id}/export"), 202)
    assert (request["state"], request["download_url"]) == ("pending", None)
    refused = supervisor.get(f"/data-requests/{request['id']}/archive")
    assert (refused.status_code, error_of(refused)["code"]) == (409, "conflict")
    with module_app.app_context():
        build_exports(utcnow())
    done = answered(supervisor.get(f"/data-requests/{request['id']}"))
    assert done["state"] == "done" and done["download_url"]


def test_erasure_needs_the_typed_confirmation(supervisor, module_make):
    customer = module_make.customer(name="Yves Erase")
    for body in ({}, {"confirm": "ERASE"}, {"confirm": f"ERASE {customer.id + 1}"}):
        refused = supervisor.post(f"/customers/{customer.id}/erasure", json=body)
        assert refused.status_code == 422
        assert list(error_of(refused)["fields"]) == ["confirm"]
    assert answered(supervisor.get(f"/customers/{customer.id}"))["name"] == "Yves Erase"


def test_erasure_blanks_the_customer_and_is_listed(supervisor, module_make):
    customer = module_make.customer(name="Xavier Erase", email="xavier@example.com")
    module_make.conversation(customer, body="Forget me")
    request = answered(supervisor.post(f"/customers/{customer.id}/erasure",
                                       json={"confirm": f"ERASE {customer.id}"}))
    assert (request["kind"], request["state"]) == ("erasure", "done")
    assert request["counts"]["deleted"]["conversations"] == 1
    assert answered(supervisor.get(f"/customers/{customer.id}"))["identities"] == []
    timeline = answered(supervisor.get(f"/customers/{customer.id}/timeline"))["items"]
    assert [e["type"] for e in timeline] == ["customer.erased"]
    again = answered(supervisor.post(f"/customers/{customer.id}/erasure",
                                     json={"confirm": f"ERASE {customer.id}"}))
    assert again["counts"]["deleted"] == {}
    listed = answered(supervisor.get(f"/data-requests?customer_id={customer.id}"))
    assert [r["id"] for r in listed["items"]] == [again["id"], request["id"]]


def test_a_merged_away_customer_cannot_be_erased(supervisor, module_make):
    target, source = module_make.customer(), module_make.customer()
    answered(supervisor.post(f"/customers/{target.id}/merge", json={"source_id": source.id}))
    refused = supervisor.post(f"/customers/{source.id}/erasure",
                              json={"confirm": f"ERASE {source.id}"})
    assert (refused.status_code, error_of(refused)["fields"]) == (409, {"customer_id": [
        f"customer {source.id} was merged into customer {target.id}: erase that one "
        "(it holds their data)"]})


def test_unknown_customers_and_requests_are_404(supervisor):
    assert supervisor.post("/customers/999999/export").status_code == 404
    assert supervisor.get("/data-requests/999999").status_code == 404
    assert supervisor.get("/data-requests/999999/archive").status_code == 404


def test_retention_settings_and_preview(admin, module_make):
    before = answered(admin.get("/retention"))
    assert set(before) == {"anonymous_chat", "closed_chat", "closed_email", "closed_phone",
                           "closed_web_form", "closed_api", "email_sources"}
    saved = answered(admin.patch("/retention", json={"closed_email": 30,
                                                     "anonymous_chat": 7}))
    assert (saved["closed_email"], saved["anonymous_chat"], saved["email_sources"]) == (
        30, 7, None)
    preview = answered(admin.get("/retention/preview"))["would_delete"]
    assert set(preview) == {"closed_email", "anonymous_chat", "anonymous_visitors"}
    answered(admin.patch("/retention", json={"closed_email": None, "anonymous_chat": None}))


@pytest.mark.parametrize(("body", "field"), [
    ({"closed_email": 0}, "closed_email"), ({"closed_fax": 3}, "closed_fax"),
    ({"email_sources": "30"}, "email_sources"), ({}, "_schema")])
def test_retention_refuses_what_is_not_a_number_of_days(admin, body, field):
    refused = admin.patch("/retention", json=body)
    assert refused.status_code == 422 and field in error_of(refused)["fields"]
