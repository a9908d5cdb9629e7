"""Running a parse in a child process under a hard time and memory limit, so no file can hold a worker.

The child is forked from a small fork server that has already imported the parsers, so a parse starts in
milliseconds and never inherits the app's threads, locks or database connections. The parent watches the
child's CPU time and kills it past the limit (or past a wall-clock backstop that leaves out the time the child
spent waiting for a CPU, so a busy machine slows a parse down but does not fail it); its address space is capped
with RLIMIT_AS (a decompression bomb dies with MemoryError), its CPU time with RLIMIT_CPU too (so even an
orphaned child stops on its own), and it runs at a lower priority.

The program's main module must be safe to import (guarded by `if __name__ == "__main__"`), as multiprocessing
requires: gunicorn, flask, pytest and worker commands are.
"""

import logging
import math
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from typing import Any

from .engine.errors import EngineError, ResumeFileError
from .engine.files import too_complex

PRELOAD = ["tokenapp.features.engine", "pypdf", "docx"]
NICENESS = 10  # a parse is background work: web requests get the CPU first
CHECK_EVERY = 0.05  # seconds between looks at the child's CPU time
WALL_FACTOR, WALL_GRACE = 3, 2.0  # the wall-clock backstop: 3 x the CPU limit + 2 s, not counting run-queue waits
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
_CONTEXT = None


def _context():
    """The fork-server context, created once per process (after a gunicorn fork, in the worker)."""
    global _CONTEXT
    if _CONTEXT is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _CONTEXT = context
    return _CONTEXT


def too_slow(seconds: float) -> ResumeFileError:
    """The error for a parse stopped at its time limit."""
    return ResumeFileError(
        "took_too_long",
        f"Reading this file took longer than {seconds:g} seconds, so we stopped. "
        "Save a simpler copy (fewer pages or images), or upload a DOCX or TXT version.",
    )


def _child(conn, func: Callable, argument, memory_bytes: int, cpu_seconds: int) -> None:
    """Runs in the child: set the limits, run, send ("ok", result) or ("refused", code, message)."""
    logging.disable(logging.WARNING)  # a malformed file makes parsers warn a lot; the outcome says enough
    outcome: tuple[Any, ...]
    try:
        os.nice(NICENESS)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        outcome = ("ok", func(argument))
    except ResumeFileError as error:
        outcome = ("refused", error.code, error.message)
    except EngineError as error:
        outcome = ("refused", "unusable", error.message)
    except MemoryError:
        outcome = ("too_complex",)
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which fails the run
        outcome = ("crashed", type(error).__name__)
    try:
        conn.send(outcome)
    finally:
        conn.close()


def cpu_seconds(pid: int) -> float:
    """CPU time a live process has used (0 when /proc cannot tell, e.g. off Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND
    except (OSError, IndexError, ValueError):
        return 0.0


def queued_seconds(pid: int) -> float:
    """Time a live process has spent runnable but waiting for a CPU (0 when /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _wait(receiver, child, seconds: float) -> None:
    """Return once the child has answered or died; raise too_slow past `seconds` of its CPU time, or past
    the wall-clock backstop (a child blocked without using CPU). The backstop does not count the time the
    child waited for a CPU: on a busy machine a low-priority parse gets a small share of one, and a file
    that needs little work is slowed down then, not refused."""
    allowed = seconds * WALL_FACTOR + WALL_GRACE
    started = time.monotonic()
    while not receiver.poll(CHECK_EVERY):
        if cpu_seconds(child.pid) > seconds:
            raise too_slow(seconds)
        if time.monotonic() - started - queued_seconds(child.pid) > allowed:
            raise too_slow(seconds)


def run_isolated(func: Callable, argument, *, seconds: float, memory_mb: int):
    """func(argument) in a child process; raises ResumeFileError when refused, too slow or too big.

    `seconds` bounds the child's CPU time, so a busy machine does not fail a file that needs little work;
    the wall clock is bounded too, at WALL_FACTOR x seconds + WALL_GRACE of time not spent waiting for a CPU."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(sender, func, argument, memory_mb * 1024 * 1024, math.ceil(seconds) + 1), daemon=True
    )
    child.start()
    sender.close()
    try:
        _wait(receiver, child, seconds)
        outcome = receiver.recv()
    except EOFError:  # the child died without a word: killed by a limit, or crashed in C code
        raise too_complex("file") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if outcome[0] == "ok":
        return outcome[1]
    if outcome[0] == "refused":
        raise ResumeFileError(outcome[1], outcome[2])
    raise too_complex("file")
