"""The production profile over encrypted transport, really run.

- Kafka over TLS: the embedded broker (Tansu) cannot encrypt (BROKER.md), so a TLS
  terminator (Debian's stunnel4) stands in front of it and Tansu advertises the terminator's
  address; every client then speaks TLS, verified against the test's own CA and the
  hostname: aiokafka (the relay, verify-log), FastStream (the services' consumers) and
  kafka-python (topic administration, end offsets).
- PostgreSQL over TLS: this machine's server has ssl off, so the test starts its own
  cluster (initdb, pg_ctl) with ssl on, a certificate from the same CA, and a pg_hba that
  rejects every connection without TLS; the services connect with sslmode verify-full.

The three services run as processes on that transport, verifying tokens with an identity
provider's published key set (SUXING_JWT_JWKS, RS256 with a key id); a roster import, a ballot and a
closed period walk from pledges through reviews to a card in scoring, and the operator CLI
reads the topics over TLS. Clients that do not speak TLS, or trust another CA, are refused.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from shared.auth import Role
from shared.contracts.topics import SERVICES, all_topics
from shared.messaging import admin
from shared.messaging.embedded_broker import find_broker_binary
from shared.messaging.security import KafkaSecurity
from tests.e2e.test_production_profile import (
    ROOT,
    Stack,
    base_env,
    call,
    eventually,
    free_port,
    ok,
)
from tests.support.availability import unavailable
from tests.support.pgcluster import pg_cluster
from tests.support.tls import Pki, make_pki

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
YEAR = TODAY.year
QUARTER = f"Q{(TODAY.month - 1) // 3 + 1}"
STUNNEL = shutil.which("stunnel4") or shutil.which("stunnel")


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}: " + log.read_text(errors="replace")[-3000:])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- an identity provider that signs with RS256 and publishes its keys (JWKS) -------------

IDP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
IDP_KID = f"idp-{uuid.uuid4().hex[:8]}"
IDP_KEYS = Path(tempfile.gettempdir()) / f"suxing-jwks-{IDP_KID}.json"


def token(person: str, *roles: Role, branch: str | None, unit: str | None = None) -> str:
    now = int(time.time())
    claims = {
        "sub": person,
        "name": person,
        "roles": [r.value for r in roles],
        "branch": branch,
        "unit": unit,
        "iss": "suxing",
        "aud": "suxing",
        "iat": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, IDP_KEY, algorithm="RS256", headers={"kid": IDP_KID})


@pytest.fixture(scope="module", autouse=True)
def published_keys() -> Iterator[None]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(IDP_KEY.public_key()))
    IDP_KEYS.write_text(json.dumps({"keys": [{**public, "kid": IDP_KID, "use": "sig"}]}))
    yield
    IDP_KEYS.unlink(missing_ok=True)


def suxing(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The operator CLI as a process, with the test's transport settings."""
    return subprocess.run(
        [sys.executable, "-m", "suxing_cli.main", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


# -- the broker behind a TLS terminator ---------------------------------------------------


class TlsBroker:
    def __init__(self, bootstrap: str, pki: Pki) -> None:
        self.bootstrap = bootstrap
        self.pki = pki

    def security(self, ca: Path | None = None) -> KafkaSecurity:
        return KafkaSecurity(protocol="SSL", ca_file=ca or self.pki.ca)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), hosts=("localhost", "127.0.0.1"))


@pytest.fixture(scope="module")
def tls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    if STUNNEL is None:
        unavailable("stunnel4 (the TLS terminator) is not installed")
    work = tmp_path_factory.mktemp("tls-broker")
    inner, outer = free_port(), free_port()
    # Tansu listens in plaintext on loopback and advertises the terminator: every client,
    # after bootstrap, is sent to the TLS port.
    broker_log = work / "tansu.log"
    env = {k: v for k, v in os.environ.items() if "LISTENER" not in k}
    tansu = subprocess.Popen(
        [
            str(find_broker_binary(os.environ.get("SUXING_BROKER_BIN"))),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{inner}",
            "--advertised-listener-url",
            f"tcp://localhost:{outer}",
        ],
        stdout=broker_log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    config = work / "stunnel.conf"
    config.write_text(
        "foreground = yes\n"
        "pid =\n"
        "debug = notice\n"
        f"output = {work / 'stunnel.log'}\n"
        "[kafka]\n"
        f"accept = 127.0.0.1:{outer}\n"
        f"connect = 127.0.0.1:{inner}\n"
        f"cert = {pki.server_cert}\n"
        f"key = {pki.server_key}\n"
        "sslVersionMin = TLSv1.2\n"
    )
    stunnel_log = work / "stunnel.out"
    stunnel = subprocess.Popen(
        [STUNNEL, str(config)], stdout=stunnel_log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(inner, tansu, broker_log)
        wait_for_port(outer, stunnel, stunnel_log)
        broker = TlsBroker(f"localhost:{outer}", pki)
        admin.ensure_topics(broker.bootstrap, all_topics(3), **broker.security().kafka_python())
        yield broker
    finally:
        stop(stunnel)
        stop(tansu)


def test_the_terminator_refuses_what_is_not_tls_to_our_ca(tls_broker: TlsBroker) -> None:
    """The TLS port answers TLS only, and only a client that trusts our CA finishes the
    handshake: the checks that make the positive test below mean something."""
    for settings in (
        {},  # plaintext to the TLS port
        tls_broker.security(ca=tls_broker.pki.other_ca).kafka_python(),  # someone else's CA
    ):
        with pytest.raises(KafkaError):
            client = KafkaAdminClient(
                bootstrap_servers=tls_broker.bootstrap,
                request_timeout_ms=3000,
                api_version_auto_timeout_ms=3000,
                **settings,
            )
            client.close()
    described = admin.describe_topics(
        tls_broker.bootstrap, ["suxing.pledges"], **tls_broker.security().kafka_python()
    )
    assert len(described["suxing.pledges"].partitions) == 3


# -- PostgreSQL with ssl on ---------------------------------------------------------------


class TlsPostgres:
    def __init__(self, port: int, ca: Path) -> None:
        self.port = port
        self.ca = ca

    def url(self, database: str, mode: str = "verify-full") -> str:
        return f"postgresql+asyncpg://postgres@localhost:{self.port}/{database}?ssl={mode}"


@pytest.fixture(scope="module")
def tls_postgres(pki: Pki) -> Iterator[TlsPostgres]:
    # TLS or nothing over TCP.
    hba = (
        "local all all trust\n"
        "hostssl all all 127.0.0.1/32 trust\n"
        "hostnossl all all 127.0.0.1/32 reject\n"
    )
    with pg_cluster(hba=hba, cert=pki.server_cert, key=pki.server_key) as cluster:
        for service in SERVICES:
            created = cluster.psql("-d", "postgres", "-c", f'CREATE DATABASE "{service}"')
            assert created.returncode == 0, created.stderr
        os.environ["PGSSLROOTCERT"] = str(pki.ca)  # asyncpg's verify-full reads it
        try:
            yield TlsPostgres(cluster.port, pki.ca)
        finally:
            os.environ.pop("PGSSLROOTCERT", None)


async def _connect(port: int, ssl: Any) -> str:
    conn = await asyncpg.connect(
        host="localhost", port=port, user="postgres", database="postgres", ssl=ssl
    )
    try:
        row = await conn.fetchrow(
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        )
        assert row is not None and row["ssl"] is True
        return str(row["version"])
    finally:
        await conn.close()


def test_postgres_refuses_plaintext_and_verifies_the_server(
    tls_postgres: TlsPostgres, pki: Pki
) -> None:
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        asyncio.run(_connect(tls_postgres.port, False))
    import ssl

    strange = ssl.create_default_context(cafile=str(pki.other_ca))
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_connect(tls_postgres.port, strange))
    assert asyncio.run(_connect(tls_postgres.port, "verify-full")).startswith("TLSv1.")


# -- the stack on both -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_stack(
    tls_broker: TlsBroker,
    tls_postgres: TlsPostgres,
    pki: Pki,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, dict[str, str]]]:
    logs = tmp_path_factory.mktemp("tls-stack")
    keys = logs / "keys"
    common = {
        **base_env(),
        "PGSSLROOTCERT": str(pki.ca),
        "SUXING_KEYS_DIR": str(keys),
        "SUXING_BROKER_URL": tls_broker.bootstrap,
        "SUXING_KAFKA_SECURITY_PROTOCOL": "SSL",
        "SUXING_KAFKA_CA_FILE": str(pki.ca),
    }
    for service in SERVICES:
        for argv in (
            ["migrate", service, "--database-url", tls_postgres.url(service)],
            ["keys", "new", "--service", service],
        ):
            done = suxing(argv, common, logs)
            assert done.returncode == 0, done.stdout + done.stderr
    running = Stack(logs)
    try:
        for service in SERVICES:
            running.start(
                service,
                {
                    **common,
                    "SUXING_PROFILE": "production",
                    "SUXING_DATABASE_URL": tls_postgres.url(service),
                    # Tokens of an identity provider, verified with its published key set.
                    "SUXING_JWT_JWKS": str(IDP_KEYS),
                    "SUXING_DATA_DIR": str(logs / "var"),
                    "SUXING_BROKER_IDEMPOTENCE": "false",
                },
            )
        running.wait_ready()
        yield running, common
    finally:
        running.stop()


def test_a_ballot_reaches_the_card_over_tls_everywhere(
    tls_stack: tuple[Stack, dict[str, str]], tls_postgres: TlsPostgres
) -> None:
    stack, common = tls_stack
    pledges, reviews, scoring = (stack.urls[s] for s in SERVICES)
    u = uuid.uuid4().hex[:8]
    unit, branch = f"tls-u-{u}", f"tls-b-{u}"
    secretary, member, peer = (f"tls-{p}-{u}" for p in ("sec", "m1", "m2"))
    admin_token = token(f"tls-admin-{u}", Role.ORG_ADMIN, branch=None)
    operator = token(f"tls-ops-{u}", Role.OPERATOR, branch=None)
    mem = token(member, Role.MEMBER, Role.EMPLOYEE, branch=branch, unit=unit)
    mate = token(peer, Role.MEMBER, Role.EMPLOYEE, branch=branch, unit=unit)
    roster = (
        "unit_id,unit_name,branch_id,branch_name,person_id,name,kind,post,committee_position\n"
        f"{unit},第一采油厂党委,{branch},采油一队党支部,{secretary},王建国,member,队长,secretary\n"
        f"{unit},第一采油厂党委,{branch},采油一队党支部,{member},李秀英,member,采油工,\n"
        f"{unit},第一采油厂党委,{branch},采油一队党支部,{peer},张伟,member,采油工,\n"
    )
    ok(
        pledges,
        "POST",
        "/roster/import",
        operator,
        content=roster.encode(),
        headers={"Content-Type": "text/csv"},
    )
    # Reviews learns the roster from the pledges topic: relay (aiokafka) and consumer
    # (FastStream) both over TLS.
    period_id = f"tls-rp-{u}"
    opening = {
        "period_id": period_id,
        "kind": "peer",
        "period": QUARTER,
        "year": YEAR,
        "scope_level": "branch",
        "scope_id": branch,
    }
    eventually(
        lambda: call(reviews, "POST", "/periods", admin_token, json=opening).status_code == 201,
        "the reviews service learns the roster over TLS",
        stack,
    )
    ballot = {"scores": [{"member_id": member, "score": 93}]}
    cast = call(reviews, "PUT", f"/periods/{period_id}/ballots/peer", mate, json=ballot)
    assert cast.status_code == 200, cast.text
    closed = call(reviews, "POST", f"/periods/{period_id}/close", admin_token)
    assert closed.status_code == 200, closed.text

    def tallied() -> dict[str, Any] | None:
        response = call(scoring, "GET", f"/members/{member}/cards/{YEAR}", mem)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        periods = [p for r in body["reviews"] if r["review"] == "peer" for p in r["periods"]]
        return body if any((p["ballots"] or 0) >= 1 for p in periods) else None

    card = eventually(tallied, "scoring tallies the closed period over TLS", stack)
    assert card["branch_id"] == branch

    # The operator's CLI reaches the broker as the services do (kafka-python and aiokafka
    # from the same SUXING_KAFKA_* block): the published log matches the database.
    pledges_db = tls_postgres.url("pledges")
    verified = suxing(
        ["verify-log", "pledges", "--json", "--against-topic", "--database-url", pledges_db],
        common,
        ROOT,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    against = json.loads(verified.stdout)["against_topic"]
    assert against["ok"] is True and against["compared"] > 0, against
