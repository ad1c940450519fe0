"""`annotator run`'s process supervisor: keeps the web server, the RQ workers, the scheduler and the embedded Redis
going. A child that dies is started again after a pause that doubles with each quick failure (1 s up to 30 s,
back to 1 s once it has run for a minute), and each restart is logged; SIGTERM or Ctrl+C stops everything within
seconds."""
from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("annotator.supervisor")

TICK = 0.5            # seconds between looks at the children
MAX_PAUSE = 30.0      # the longest wait before a restart
STEADY_AFTER = 60.0   # a child that ran this long counts as healthy again: its next failure waits 1 s
STOP_GRACE = 15.0     # how long a child may take to stop after SIGTERM before it is killed


@dataclass
class Child:
    """One supervised process: its name for the log, its command, and its restart state."""

    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv)
        self.started, self.restart_at = time.monotonic(), None

    def check(self, now: float) -> None:
        """Start the child again when it has died and its pause is over."""
        if self.restart_at is None:
            code = self.process.poll() if self.process is not None else None
            if code is None:
                return
            self.failures = 1 if now - self.started >= STEADY_AFTER else self.failures + 1
            pause = min(MAX_PAUSE, 2.0 ** (self.failures - 1))
            log.warning("%s (pid %s) exited with %s; starting it again in %.0f s", self.name, self.process.pid,
                        code, pause)
            self.restart_at = now + pause
        if now >= self.restart_at:
            self.start()
            self.restarts += 1
            log.warning("%s started again (pid %s)", self.name, self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def reap(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def supervise(children: list[Child], keep_alive: Callable[[], None] = lambda: None) -> None:
    """Start the children and keep them going until SIGTERM, SIGINT or Ctrl+C; then stop them all.
    `keep_alive` runs every tick (it restarts the embedded Redis when that has died)."""
    stopping = []
    previous = {sig: signal.signal(sig, lambda *_: stopping.append(True)) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start()
        while not stopping:
            time.sleep(TICK)
            _tick(children, keep_alive)
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for child in children:
            child.stop()
        deadline = time.monotonic() + STOP_GRACE
        for child in children:
            child.reap(deadline)


def _tick(children: list[Child], keep_alive: Callable[[], None]) -> None:
    try:
        keep_alive()
    except Exception:  # noqa: BLE001 - a failed restart of Redis is retried next tick, never the end of the run
        log.exception("could not bring the embedded Redis back; trying again")
    now = time.monotonic()
    for child in children:
        try:
            child.check(now)
        except OSError:
            log.exception("could not start %s; trying again", child.name)
            child.restart_at = now + MAX_PAUSE
