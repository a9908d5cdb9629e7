"""The stand-in's memory: every object by id, the events, the idempotency cache; checkpoints of it.

One re-entrant lock guards it all; every request handler and control action
holds it while it reads or changes anything.
"""

import copy
import json
import pickle
import threading
import time
from collections import Counter

from stripe import api_version as SDK_API_VERSION  # noqa: N812 - a constant, named like one

from .errors import no_such
from .util import new_id


class State:
    """All stand-in objects, keyed by id, in creation order."""

    def __init__(self, dispatcher=None, clock=time.time):
        self.lock = threading.RLock()
        self.objects: dict[str, dict] = {}
        self.clock = self.original_clock = clock
        self.dispatcher = dispatcher
        self.idempotency: dict[tuple, tuple] = {}
        self.request_info = {"id": None, "idempotency_key": None}
        self.private: dict[str, dict] = {}  # per-object data Stripe keeps but does not show
        self.requests: Counter = Counter()  # (method, path) of every /v1 request, for tests

    def now(self) -> int:
        """Unix seconds on the stand-in's clock (tests may replace `clock`)."""
        return int(self.clock())

    def add(self, obj: dict) -> dict:
        """Store a new object, stamping `created` and `livemode` if missing."""
        obj.setdefault("created", self.now())
        obj.setdefault("livemode", False)
        self.objects[obj["id"]] = obj
        return obj

    def find(self, obj_id) -> dict | None:
        """The object with this id, of any kind, or None."""
        return self.objects.get(obj_id) if isinstance(obj_id, str) else None

    def get(self, kind: str, obj_id, param: str = "id") -> dict:
        """The `kind` object with this id, or 404 resource_missing."""
        obj = self.find(obj_id)
        if obj is None or obj.get("object") != kind:
            raise no_such(kind, obj_id, param)
        return obj

    def all(self, kind: str) -> list[dict]:
        """Every object of `kind`, oldest first."""
        return [obj for obj in self.objects.values() if obj.get("object") == kind]

    def checkpoint(self) -> bytes:
        """Everything the stand-in holds (objects, idempotency cache, request counts), to `restore` later."""
        with self.lock:
            return pickle.dumps((self.objects, self.idempotency, self.private, self.requests))

    def restore(self, checkpoint: bytes) -> None:
        """Put everything back as it was at `checkpoint` (a fresh copy each time), on the original clock."""
        with self.lock:
            self.objects, self.idempotency, self.private, self.requests = pickle.loads(checkpoint)
            self.clock = self.original_clock
            self.request_info = {"id": None, "idempotency_key": None}

    def emit(self, event_type: str, obj: dict, previous: dict | None = None) -> dict:
        """Record an event with a snapshot of `obj` and queue it for the webhook."""
        data = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = copy.deepcopy(previous)
        webhook = bool(self.dispatcher and self.dispatcher.enabled)
        event = self.add(
            {
                "id": new_id("evt"),
                "object": "event",
                "api_version": SDK_API_VERSION,
                "created": self.now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1 if webhook else 0,
                "request": dict(self.request_info),
                "type": event_type,
            }
        )
        if webhook:
            self.dispatcher.enqueue(event["id"], event_type, event_body(event))
        return event

    def resend(self, event_id: str) -> dict:
        """Queue an existing event again, byte for byte the same body."""
        event = self.get("event", event_id)
        if self.dispatcher and self.dispatcher.enabled:
            self.dispatcher.enqueue(event_id, event["type"], event_body(event))
        return event


def event_body(event: dict) -> bytes:
    """The webhook payload: the Event object as pretty JSON, like Stripe sends."""
    return json.dumps(event, indent=2).encode("utf-8")


def snapshot_fields(obj: dict, *names: str) -> dict:
    """The current values of `names`, for an event's `previous_attributes`."""
    return {name: copy.deepcopy(obj.get(name)) for name in names}
