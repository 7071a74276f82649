"""Who may scrape ``/metrics`` (shared/metrics.py ``metrics_refusal``)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.metrics import metrics_refusal
from shared.settings import Settings

PRODUCTION: dict[str, Any] = {
    "profile": "production",
    "service": "scoring",
    "database_url": "postgresql+asyncpg://db/scoring",
    "broker_url": "kafka:9092",
    "kafka_security_protocol": "PLAINTEXT",
    "jwt_public_key": "-----BEGIN PUBLIC KEY-----",
    "keys_dir": "/etc/suxing/keys",
}


def test_embedded_serves_loopback_scrapers_without_a_token() -> None:
    assert metrics_refusal(Settings(service="scoring"), None) is None


def test_production_without_a_token_serves_nobody() -> None:
    refused = metrics_refusal(Settings(**PRODUCTION), "Bearer anything")
    assert refused is not None and refused[0] == 403 and "SUXING_METRICS_TOKEN" in refused[1]


@pytest.mark.parametrize("profile", ["embedded", "production"])
@pytest.mark.parametrize(
    ("authorization", "served"),
    [
        ("Bearer s3cret-token-of-prometheus", True),
        ("bearer s3cret-token-of-prometheus", True),
        ("Bearer s3cret-token-of-prometheu", False),
        ("Basic s3cret-token-of-prometheus", False),
        ("", False),
        (None, False),
    ],
)
def test_with_a_token_only_its_bearer_is_served(
    profile: str, authorization: str | None, served: bool
) -> None:
    base = PRODUCTION if profile == "production" else {"service": "scoring"}
    settings = Settings(**base, metrics_token="s3cret-token-of-prometheus")
    refused = metrics_refusal(settings, authorization)
    assert (refused is None) == served
    if not served:
        assert refused == (401, "访问 /metrics 需要有效的令牌（Authorization: Bearer）")
