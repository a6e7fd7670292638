"""GET /api/v1/metrics: the Prometheus text a scraper reads with its bearer token."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from bot.engine import BotContext
from bot.rasa_engine import RasaEngine, RasaTimeout
from helpdesk.models import Role
from tests.e2e.api_helpers import ApiClient
from tests.fakes import FakeRasaClient, ScriptedEngine


def rasa_requests(api: ApiClient) -> dict[str, float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    families = {f.name: f for f in text_string_to_metric_families(response.get_data(as_text=True))}
    return {s.labels["outcome"]: s.value for s in families["comptoir_rasa_requests"].samples
            if s.name.endswith("_total")}


def test_a_supervisor_s_token_reads_the_rasa_calls_by_outcome(app, make):
    api = ApiClient(app.test_client(), make.token(make.user(Role.SUPERVISOR), ["metrics:read"]))
    before = rasa_requests(api)
    assert set(before) == {"ok", "timeout", "error"}
    RasaEngine(FakeRasaClient(RasaTimeout("slow")), ScriptedEngine()).respond(BotContext(), "hi")
    assert rasa_requests(api)["timeout"] == before["timeout"] + 1
