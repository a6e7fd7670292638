"""The reports page (/reports), its CSV exports, its drill-downs, and GET /api/v1/reports/…:
supervisors and admins only; what users typed is escaped, in the tables and in the charts'
JSON alike."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from helpdesk.models import Channel, Role
from helpdesk.services import reports
from tests.e2e.api_helpers import ApiClient, error_of

NASTY = "</script><script>alert(1)</script>"


@pytest.fixture
def desk(make):
    queue = make.queue(NASTY)
    conversation = make.conversation(queue_id=queue.id, channel=Channel.CHAT,
                                     subject="=HYPERLINK(\"http://evil.example\")")
    make.conversation(queue_id=queue.id)
    return queue, conversation


@pytest.mark.parametrize("report", list(reports.REPORTS))
def test_supervisors_see_every_report_with_its_charts_and_tables(client, auth, make, desk,
                                                                 report):
    auth.login(make.user(Role.SUPERVISOR).email)
    page = client.get(f"/reports/{report}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'src="/static/web/vendor/chart.js/chart.umd.js"' in html
    assert html.count("<canvas data-chart=") >= 1
    assert NASTY not in html  # escaped in the tables and inside the charts' JSON
    for spec in re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', html,
                           re.DOTALL):
        chart = json.loads(spec)
        assert chart["labels"] is not None and chart["datasets"]


def test_the_volumes_page_counts_and_links_each_number_to_its_conversations(client, auth,
                                                                            make, desk):
    _queue, conversation = desk
    auth.login(make.user(Role.ADMIN).email)
    html = client.get("/reports").get_data(as_text=True)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    link = re.search(r'href="(/reports/volumes/drill\?[^"]*metric=channel[^"]*key=chat[^"]*)"',
                     html).group(1).replace("&amp;", "&")
    drill = client.get(link).get_data(as_text=True)
    assert f"/conversations/{conversation.id}" in drill
    assert "conversation.opened" in drill


def test_every_table_and_drill_down_downloads_as_csv_without_formulas(client, auth, make, desk):
    auth.login(make.user(Role.SUPERVISOR).email)
    table = client.get("/reports/volumes/by_channel.csv")
    assert table.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(table.get_data(as_text=True)))) == [
        ["channel", "conversations", "share"], ["chat", "1", "50.0"], ["email", "1", "50.0"]]
    drill = client.get("/reports/volumes/drill.csv?metric=channel&key=chat")
    rows = list(csv.reader(io.StringIO(drill.get_data(as_text=True))))
    assert rows[0][:4] == ["conversation_id", "subject", "channel", "created_at"]
    assert rows[1][1] == "'=HYPERLINK(\"http://evil.example\")"
    assert client.get("/reports/volumes/nothing.csv").status_code == 404


def test_bad_filters_say_what_is_wrong(client, auth, make, desk):
    auth.login(make.user(Role.SUPERVISOR).email)
    page = client.get("/reports/backlog?start=2026-02-30")
    assert page.status_code == 422
    assert "is not a date such as 2026-01-31" in page.get_data(as_text=True)
    assert client.get("/reports/volumes?start=2026-03-01&end=2026-02-01").status_code == 422
    assert client.get("/reports/volumes/drill?metric=colour&key=red").status_code == 422
    assert client.get("/reports/weather").status_code == 404


def test_agents_are_refused_the_pages_the_api_and_the_menu_link(client, auth, make, desk):
    auth.login(make.user(Role.AGENT).email)
    for path in ("/reports", "/reports/csat", "/reports/volumes/by_day.csv",
                 "/reports/volumes/drill?metric=channel&key=chat"):
        assert client.get(path).status_code == 403, path
    refused = ApiClient(client).get("/reports/volumes")
    assert (refused.status_code, error_of(refused)["code"]) == (403, "forbidden")
    assert 'href="/reports"' not in client.get("/conversations").get_data(as_text=True)


def test_the_api_gives_the_tables_and_the_drill_downs(client, make, desk):
    queue, conversation = desk
    api = ApiClient(client, make.token(make.user(Role.SUPERVISOR), ["reports:view"]))
    report = api.get(f"/reports/volumes?channel=chat&queue_id={queue.id}").get_json()
    by_channel = next(t for t in report["tables"] if t["name"] == "by_channel")
    assert by_channel["rows"] == [{"cells": {"channel": "chat", "conversations": 1,
                                             "share": 100.0},
                                   "drills": {"conversations": {"metric": "channel",
                                                                "key": "chat"}}}]
    assert report["filters"]["channel"] == "chat"
    drill = api.get("/reports/volumes/drill?metric=channel&key=chat").get_json()
    assert [i["conversation"]["id"] for i in drill["items"]] == [conversation.id]
    assert drill["items"][0]["events"][0]["type"] == "conversation.opened"
    refused = api.get("/reports/volumes?timezone=Mars/Olympus")
    assert refused.status_code == 422 and "timezone" in error_of(refused)["fields"]


def test_the_page_speaks_french(client, auth, make, desk):
    auth.login(make.user(Role.SUPERVISOR).email)
    html = client.get("/reports/assistant",
                      headers={"Accept-Language": "fr"}).get_data(as_text=True)
    for words in ["Rapports", "Assistant", "Pourquoi il a passé la main"]:
        assert words in html, words
