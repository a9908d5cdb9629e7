"""CPU time of other processes from /proc (Linux): gunicorn workers, PostgreSQL backends.

A `Processes` names a set of processes by a rule that is re-applied at each
reading, so workers or backends that start during a measurement are counted
from their start; `cpu_seconds()` is the user + system time of the set, and
the difference of two readings (per process id) is the CPU spent in between.
Off Linux every reading is 0.
"""

import os
from collections.abc import Callable

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_of(pid: int) -> float:
    """User + system seconds the process has used (its own, not its children's); 0 when gone."""
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICKS


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmd:
            return cmd.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def children_of(parent: int) -> list[int]:
    """The process ids whose parent is `parent`."""
    found = []
    for pid in _all_pids():
        fields = _stat(pid)
        if fields is not None and int(fields[1]) == parent:
            found.append(pid)
    return found


class Processes:
    """A set of processes found anew at each reading; `since(mark)` gives the CPU spent after `mark`."""

    def __init__(self, find: Callable[[], list[int]]):
        self.find = find

    def snapshot(self) -> dict[int, float]:
        """CPU seconds so far of each process in the set, by pid."""
        return {pid: cpu_of(pid) for pid in self.find()}

    def since(self, mark: dict[int, float]) -> float:
        """CPU seconds the set has used since `mark` (a snapshot); new processes count in full."""
        now = self.snapshot()
        return sum(max(0.0, cpu - mark.get(pid, 0.0)) for pid, cpu in now.items())

    def cpu_seconds(self) -> float:
        """CPU seconds so far of the processes in the set right now."""
        return sum(self.snapshot().values())


def postgres_backends(database: str) -> Processes:
    """The PostgreSQL server processes connected to `database` (their title names it)."""
    marker = f" {database} "

    def find() -> list[int]:
        return [pid for pid in _all_pids() if (line := _cmdline(pid)).startswith("postgres:") and marker in line]

    return Processes(find)


def gunicorn_workers(master: int) -> Processes:
    """A gunicorn master and its workers."""
    return Processes(lambda: [master, *children_of(master)])


def process(pid: int) -> Processes:
    """One process (the bench itself, say)."""
    return Processes(lambda: [pid])


class Watch:
    """CPU used by a set of processes during a `with` block, counting processes that end inside it.

    A process's CPU is gone from /proc once it exits (pgbench's backends end
    with its run), so a thread re-reads the set every `every` seconds and
    keeps each process's last figure; at most `every` seconds of a process's
    last work can be missed.
    """

    def __init__(self, processes: Processes, every: float = 0.1):
        self.processes, self.every = processes, every
        self.seconds = 0.0

    def __enter__(self) -> "Watch":
        import threading

        self._start = self.processes.snapshot()
        self._last = dict(self._start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            self._last.update(self.processes.snapshot())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self.processes.snapshot())
        self.seconds = sum(max(0.0, cpu - self._start.get(pid, 0.0)) for pid, cpu in self._last.items())
