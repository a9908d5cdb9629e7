"""Running an AI feature as the page does: the gate's form, then the run, over htmx."""

import re

from .web import csrf_token

HX = {"HX-Request": "true"}


def run_through_gate(client, feature_key, data=None, files=None):
    """Open the feature's gate, then press its Generate button with `data` and `files`; the response."""
    page = client.get(f"/tokens/gate/{feature_key}?for=run", headers=HX).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    form = {"idempotency_key": key, "csrf_token": csrf_token(client), **(data or {}), **(files or {})}
    return client.post(f"/features/{feature_key}/run", data=form, headers=HX, content_type="multipart/form-data")
