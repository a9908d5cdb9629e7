"""Announcements the services make for the layers above them to act on.

`balance_changed` is sent by the ledger after each ledger row it writes (after
a user's expiry rows, once for them all), with the owner's `user_id`; the htmx
layer turns it into `HX-Trigger: tokens-changed` for the request in progress,
so no service knows about htmx.
"""

from blinker import Namespace

_signals = Namespace()

balance_changed = _signals.signal("balance-changed")
