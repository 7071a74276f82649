"""The runtime every service shares: database, event store, outbox relay, optional projection
consumer, health endpoints and error mapping. A service's ``app.py`` describes itself with a
:class:`ServiceSpec` and calls :func:`create_service_app` (its one composition root)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import clock as business_clock
from shared.auth import TokenVerifier
from shared.contracts import REGISTRY, Envelope, EventRegistry
from shared.contracts.topics import all_topics, service_topic
from shared.db import Database
from shared.errors import DomainError
from shared.eventstore import EventStore
from shared.eventstore.relay import OutboxRelay, outbox_backlog
from shared.eventstore.seal import seal_log
from shared.messaging import admin
from shared.messaging.consumer import Apply, CheckpointedConsumer
from shared.messaging.subscriber import CheckpointedSubscriber
from shared.metrics import Metrics, metrics_refusal
from shared.migrations import upgrade
from shared.readmodel.slots import ReadModel, ReadModelSpec
from shared.settings import Settings
from shared.validation import chinese_reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A task a service runs every ``every_seconds`` (first run after one interval).

    A failure is logged and the next round tries again: a database outage must not end it.
    """

    name: str
    every_seconds: float
    run: Callable[[Runtime], Awaitable[object]]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    routers: Sequence[APIRouter] = ()
    consumes: Sequence[str] = ()
    periodic: Sequence[Periodic] = ()
    projection: Apply | None = None
    registry: EventRegistry = field(default_factory=lambda: REGISTRY)
    read_model: ReadModelSpec | None = None
    """The projection's tables when they live in blue/green slots (shared/readmodel) instead
    of the service's own database; ``suxing rebuild`` can then rebuild them beside the live
    ones. Without it the projection writes into the service's database."""


class Runtime:
    """Everything a running service holds; lives on ``app.state.runtime``."""

    def __init__(self, spec: ServiceSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.db = Database(settings.resolved_database_url())
        self.store = EventStore(spec.registry)
        self.topic = service_topic(spec.name)
        self.kafka = settings.kafka()
        # FastStream logs every batch at INFO by default; per-batch lines belong in DEBUG.
        self.broker = KafkaBroker(
            self.kafka.bootstrap,
            client_id=self.kafka.client_id,
            security=self.kafka.security.faststream(),
            log_level=logging.DEBUG,
        )
        # The relay publishes with aiokafka directly (batches); this publisher only documents
        # the topic and its envelope in the service's AsyncAPI specification.
        self.broker.publisher(
            self.topic,
            title=f"{spec.name} events",
            description=f"Every event of the {spec.name} service, in the Suxing envelope, "
            "keyed by the stream's home branch (docs/events/).",
            schema=Envelope,
        )
        self.relay = OutboxRelay(
            db=self.db,
            topic=self.topic,
            producer_kwargs=self.kafka.producer_kwargs(),
            topic_id_lookup=self._topic_id,
            signer=settings.signing_key(),
        )
        self.read_model = ReadModel(spec.read_model, self.db) if spec.read_model else None
        self.read_slot: str | None = None
        self.consumer: CheckpointedConsumer | None = None
        self.subscriber: CheckpointedSubscriber | None = None
        if spec.projection is not None and spec.consumes:
            self.consumer = CheckpointedConsumer(
                name=spec.name,
                db=self.db,
                registry=spec.registry,
                apply=spec.projection,
                verifier=settings.verifier(),
            )
            self.subscriber = CheckpointedSubscriber(
                broker=self.broker,
                consumer=self.consumer,
                topics=list(spec.consumes),
                group_id=settings.group_id(spec.name),
                profile=self.kafka,
                topic_ids=self._topic_ids,
            )
        self._relay_task: asyncio.Task[None] | None = None
        self._periodic: list[asyncio.Task[None]] = []
        self.started_at = datetime.now(UTC)

    async def _topic_ids(self, names: Sequence[str]) -> dict[str, str]:
        return await asyncio.to_thread(
            admin.topic_ids, self.kafka.bootstrap, list(names), **self.kafka.security.kafka_python()
        )

    async def _topic_id(self, topic: str) -> str | None:
        ids = await self._topic_ids([topic])
        if topic not in ids:
            await self.ensure_topics()
            ids = await self._topic_ids([topic])
        return ids.get(topic)

    async def ensure_topics(self) -> None:
        specs = all_topics(self.settings.topic_partitions, self.settings.topic_replication)
        await asyncio.to_thread(
            admin.ensure_topics, self.kafka.bootstrap, specs, **self.kafka.security.kafka_python()
        )

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Alembic, in every profile: the schema is whatever the service's migrations say.
        await asyncio.to_thread(upgrade, self.spec.name, self.db.url)
        if self.read_model is not None:
            self.read_slot = await self.read_model.ensure_active()
            if self.consumer is not None:
                self.consumer.db = self.read_db()
        # How the process reaches Kafka, without secrets: the first line to check when a
        # service cannot reach the broker.
        log.info(
            "%s: Kafka %s (%s)",
            self.spec.name,
            self.kafka.bootstrap,
            self.kafka.security.describe(),
        )
        await self.ensure_topics()
        await self.relay.start()
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.spec.name}-relay")
        if self.subscriber is not None:
            await self.subscriber.start_watch()
        await self.broker.start()
        tasks = list(self.spec.periodic)
        if self.read_model is not None:
            tasks.append(Periodic("read model", READ_MODEL_CHECK_SECONDS, _follow_read_model))
        if self.settings.seal_interval_seconds > 0:
            # At start too, before the service reports ready: what the log held when the
            # process came up is sealed and published at once, not an interval later.
            await self._seal_at_start()
            tasks.append(Periodic("seal", self.settings.seal_interval_seconds, _seal))
        self._periodic = [
            asyncio.create_task(self._every(task), name=f"{self.spec.name}-{task.name}")
            for task in tasks
        ]

    async def _seal_at_start(self) -> None:
        try:
            await asyncio.wait_for(_seal(self), timeout=SEAL_AT_START_SECONDS)
        except Exception as exc:  # the periodic round seals later; start goes on
            log.warning("%s: sealing at start failed: %s", self.spec.name, exc)

    async def _every(self, task: Periodic) -> None:
        while True:
            await asyncio.sleep(task.every_seconds)
            try:
                await task.run(self)
            except Exception as exc:
                log.warning("%s: periodic %s failed: %s", self.spec.name, task.name, exc)

    async def stop(self, step_timeout: float = 15.0) -> None:
        """Stop in order; a step that hangs (a client waiting on a dead broker) is abandoned
        after ``step_timeout`` so that shutdown always finishes. Nothing is lost: unpublished
        events stay in the outbox and unapplied records are read again from stored offsets."""

        async def step(name: str, action: Awaitable[object]) -> None:
            try:
                async with asyncio.timeout(step_timeout):
                    await action
            except TimeoutError:
                log.warning(
                    "%s: stopping %s took over %.0fs; abandoned", self.spec.name, name, step_timeout
                )
            except Exception as exc:
                log.warning("%s: stopping %s failed: %s", self.spec.name, name, exc)

        for task in self._periodic:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await step(task.get_name(), task)
        if self.subscriber is not None:
            await step("topic watch", self.subscriber.stop_watch())
        await step("consumers", self.broker.stop())
        if self._relay_task is not None:
            self.relay.request_stop()
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await step("relay loop", self._relay_task)
        await step("relay", self.relay.stop())
        if self.read_model is not None:
            await step("read model", self.read_model.dispose())
        await step("database", self.db.dispose())

    def read_db(self) -> Database:
        """Where the service's read model is read now: the active slot, or its own database."""
        if self.read_model is None or self.read_slot is None:
            return self.db
        return self.read_model.database(self.read_slot)

    async def follow_read_model(self) -> None:
        """Move reads and the live consumer to the active slot after a rebuild switched it."""
        if self.read_model is None:
            return
        active = await self.read_model.active()
        if active is None or active == self.read_slot:
            return
        log.warning("%s: read model switched %s -> %s", self.spec.name, self.read_slot, active)
        await self.read_model.create_tables(active)
        database = self.read_model.database(active)
        if self.subscriber is not None:
            await self.subscriber.switch_database(database)
        elif self.consumer is not None:
            self.consumer.db = database
        self.read_slot = active

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            await self.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["relay"] = (
            "ok" if self.relay.stats.last_error is None else self.relay.stats.last_error
        )
        try:
            async with self.db.reading() as session:
                backlog, oldest = await outbox_backlog(session)
            checks["outbox_backlog"] = backlog
            checks["outbox_oldest"] = oldest.isoformat() if oldest else None
        except Exception as exc:
            checks["outbox_backlog"] = f"unknown: {type(exc).__name__}"
        if self.read_model is not None:
            checks["read_model"] = {"name": self.read_model.spec.name, "slot": self.read_slot}
        if self.subscriber is not None:
            checks["consumer"] = {
                "batches": self.subscriber.batches,
                "failures": self.subscriber.failures,
                "stuck": self.subscriber.stuck,
                "last_applied_at": (
                    self.consumer.last_applied_at.isoformat()
                    if self.consumer and self.consumer.last_applied_at
                    else None
                ),
            }
        return checks


def token_verifier(settings: Settings) -> TokenVerifier:
    """HS256 with the shared secret in the embedded profile (``suxing token`` signs with it);
    the identity provider's public key when one is configured (RS256, or ES256 for an EC key)."""
    if settings.jwt_jwks is not None:
        from shared.jwks import KeySet, KeySetVerifier

        return KeySetVerifier(
            KeySet(settings.jwt_jwks), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
    key = settings.jwt_public_key
    if key is None:
        return TokenVerifier(
            settings.jwt_secret,
            algorithm="HS256",
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        public = load_pem_public_key(key.encode())
    except ValueError as exc:
        raise ValueError(f"SUXING_JWT_PUBLIC_KEY is not a PEM public key: {exc}") from exc
    algorithm: Literal["RS256", "ES256"] = (
        "ES256" if isinstance(public, EllipticCurvePublicKey) else "RS256"
    )
    return TokenVerifier(
        key, algorithm=algorithm, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )


READ_MODEL_CHECK_SECONDS = 1.0
"""How soon an instance follows a read-model switch (a cheap primary-key read)."""
SEAL_AT_START_SECONDS = 15.0
"""A database that does not answer does not hold the start: the periodic round seals later."""


async def _follow_read_model(runtime: Runtime) -> None:
    await runtime.follow_read_model()


async def _seal(runtime: Runtime) -> None:
    """Seal the log (a LogSealed event the relay publishes like any other)."""
    async with runtime.db.transaction() as session:
        sealed = await seal_log(session, service=runtime.spec.name, now=datetime.now(UTC))
    if sealed is not None:
        runtime.relay.wake()


def _error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


DATABASE_UNAVAILABLE = "数据库暂时不可用（繁忙或无法连接），本次操作未保存，请稍后重试"
BODY_TOO_LARGE = "请求内容过大：不能超过 {limit} 字节，请拆分后再提交"


def _database_unavailable(exc: Exception) -> JSONResponse:
    # Nothing was written: the transaction could not start or commit. The message names the
    # cause class only (never the SQL or the connection string) and asks for a retry.
    log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    return JSONResponse(
        _error_body("database_unavailable", DATABASE_UNAVAILABLE),
        status_code=503,
        headers={"Retry-After": "5"},
    )


class BodySizeLimit:
    """Refuses request bodies over ``limit`` bytes with 413 before any route reads them: by
    ``Content-Length`` when given, else (a chunked body) by reading it up to the limit first
    and handing the route the buffered chunks."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.limit:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        messages: list[Any] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        response = JSONResponse(
            _error_body("payload_too_large", BODY_TOO_LARGE.format(limit=self.limit)),
            status_code=413,
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Any:
    return {"type": "http.disconnect"}


_HTTP_MESSAGES = {
    404: ("not_found", "没有这个地址：{path}"),
    405: ("method_not_allowed", "这个地址不支持该请求方法：{path}"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(ConnectionError)
    async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
        return _database_unavailable(exc)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(_error_body(exc.code, exc.message), status_code=exc.status_code)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # A path or query number the database cannot hold (SQLite: OverflowError; PostgreSQL:
        # DataError): bad input, not a server fault.
        log.info("value out of range: %s: %s", type(exc).__name__, exc)
        return JSONResponse(
            _error_body("invalid_input", "请求内容有误：数值超出允许的范围"), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown routes and methods answer in the error envelope, in Chinese, like the rest.
        code, message = _HTTP_MESSAGES.get(exc.status_code, ("error", str(exc.detail)))
        return JSONResponse(
            _error_body(code, message.format(path=request.url.path)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(UnicodeEncodeError)
    async def _unstorable(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # Text that is not text (a lone surrogate from a JSON escape) in a field no validator
        # screens: it cannot be encoded for the event, so nothing was stored.
        log.info("unstorable text in a request: %s", exc.reason)
        return JSONResponse(
            _error_body("invalid_input", "请求内容有误：含有无法识别的字符，请删除后重新提交"),
            status_code=422,
        )

    @app.exception_handler(ValidationError)
    async def _model_validation(request: Request, exc: ValidationError) -> JSONResponse:
        # A command built from path values inside a handler (not by FastAPI): the same 422.
        return await _validation(request, RequestValidationError(exc.errors()))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            fields.append({"field": ".".join(loc) or "body", "reason": chinese_reason(err)})
        summary = "；".join(f"{f['field']}：{f['reason']}" for f in fields)
        return JSONResponse(
            _error_body("invalid_input", f"请求内容有误：{summary}", fields=fields),
            status_code=422,
        )


def create_service_app(spec: ServiceSpec, settings: Settings) -> FastAPI:
    business_clock.configure(settings.clock_file)
    runtime = Runtime(spec, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=f"Suxing {spec.name}", version="0.1.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.token_verifier = token_verifier(settings)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    metrics = Metrics(runtime)

    @app.get("/metrics", tags=["health"], response_class=Response)
    async def prometheus_metrics(request: Request) -> Response:
        refused = metrics_refusal(settings, request.headers.get("authorization"))
        if refused is not None:
            status, message = refused
            return JSONResponse(_error_body("metrics_refused", message), status_code=status)
        return Response(await metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health/ready", tags=["health"])
    async def ready() -> JSONResponse:
        """Ready = database reachable, broker reachable (the relay's last pass worked) and
        the consumer, if any, not stuck."""
        checks = await runtime.readiness()
        ok = (
            checks.get("database") == "ok"
            and checks.get("relay") == "ok"
            and not (isinstance(checks.get("consumer"), dict) and checks["consumer"]["stuck"])
        )
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "service": spec.name, "checks": checks},
            status_code=200 if ok else 503,
        )

    for router in spec.routers:
        app.include_router(router)
    return app


def serve(spec_factory: Any, settings: Settings | None = None) -> None:
    """Run one service under uvicorn (``python -m services.<name>``)."""
    import uvicorn

    settings = settings or Settings()
    refusal = settings.listening_refusal()
    if refusal is not None:
        raise SystemExit(refusal)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = spec_factory(settings)
    uvicorn.run(app, host=settings.host, port=settings.resolved_port(), log_level="warning")
