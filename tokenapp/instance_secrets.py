"""Secrets made once per instance and kept in `instance/`, so no value in the repository can sign.

Several processes may start at once (gunicorn workers, `flask serve` and its
stand-in): each writes its candidate to a private temporary file and links it
into place, which succeeds for exactly one of them; the others read the winner's.
"""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


class InstanceSecretError(Exception):
    """A stored secret that cannot be used; its message names the file."""


def instance_secret(instance_path: str, name: str, make: Callable[[], str]) -> str:
    """The secret kept in `instance_path/name`, made by `make()` (mode 0600) the first time."""
    path = Path(instance_path) / name
    if not path.exists():
        _create_once(path, make())
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise InstanceSecretError(f"{path} is empty; delete it and a new secret is made at the next start")
    return value


def _create_once(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(value + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: everyone uses that one
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
