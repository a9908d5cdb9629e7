"""Processes a test starts: a free port, a parent's pid, waiting until a server answers."""

import shutil
import socket
import subprocess
from pathlib import Path

import httpx

from .waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def answers(url: str) -> bool:
    """True when `url` answers 200."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    """Wait until `url` answers 200; fail with the end of `log` if `process` exits or time runs out first."""

    def serving():
        if process.poll() is not None:
            raise AssertionError(f"{process.args[:4]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        return answers(url)

    wait_until(serving, seconds, lambda: f"{url} to answer:\n{log.read_text()[-3000:]}", interval=0.2)


def fresh_copy(target: Path) -> None:
    """Copy what a clone would hold (tracked and new, unignored files)."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True, capture_output=True
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
