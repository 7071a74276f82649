"""The embedded profile (anyone signs in, /metrics open, keys made on the spot) never listens
beyond loopback: a container started without SUXING_PROFILE=production refuses to serve."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_is_where_the_embedded_profile_listens(host: str) -> None:
    assert Settings(service="portal", host=host).listening_refusal() is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "portal.example"])
def test_any_other_address_is_refused(host: str) -> None:
    refusal = Settings(service="portal", host=host).listening_refusal()
    assert refusal is not None and "SUXING_PROFILE=production" in refusal


def test_production_listens_where_it_is_told() -> None:
    settings = Settings(
        profile="production",
        service="portal",
        host="0.0.0.0",
        pledges_url="http://pledges:8101",
        reviews_url="http://reviews:8102",
        scoring_url="http://scoring:8103",
        jwt_public_key="-----BEGIN PUBLIC KEY-----",
    )
    assert settings.listening_refusal() is None


@pytest.mark.parametrize("module", ["services.portal", "services.pledges"])
def test_a_process_told_to_listen_on_every_interface_stops(module: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUXING_")}
    env.update(
        {"SUXING_HOST": "0.0.0.0", "SUXING_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    )
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "listens on loopback only, not on 0.0.0.0" in done.stderr
    assert not (tmp_path / "pledges.db").exists()  # stopped before touching anything
