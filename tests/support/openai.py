"""A scripted OpenAI-compatible chat-completions server on loopback, and the replies it gives."""

import json
import threading

from flask import Flask, jsonify, request

from stripe_standin import serve_in_thread


def chat_reply(content="Dear hiring manager", finish_reason="stop", **message):
    """A chat-completions response body with one choice."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content, **message},
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


class FakeOpenAI:
    """A loopback chat-completions server answering from a queue of scripted behaviours."""

    def __init__(self):
        self.behaviours = []
        self.requests = []
        self.release = threading.Event()  # ends any scripted sleep early at teardown
        app = Flask("fake_openai")
        app.add_url_rule("/v1/chat/completions", view_func=self.chat, methods=["POST"])
        self.handle = serve_in_thread(app, host="127.0.0.1", port=0)
        self.url = self.handle.url + "/v1"

    def script(self, *behaviours):
        """Queue answers: a dict body (200), or (status, body, headers), or ("sleep", seconds)."""
        self.behaviours.extend(behaviours)

    def chat(self):
        """Record the request, then play the next scripted behaviour."""
        self.requests.append({"headers": dict(request.headers), "json": request.get_json(silent=True)})
        if not self.behaviours:
            return jsonify(error="fake_openai: nothing scripted"), 418
        step = self.behaviours.pop(0)
        if isinstance(step, dict):
            return jsonify(step)
        if step[0] == "sleep":
            self.release.wait(step[1])
            return jsonify(chat_reply("too late"))
        status, body, headers = step
        return (body if isinstance(body, str) else json.dumps(body)), status, headers

    def stop(self):
        """Release sleepers and stop serving."""
        self.release.set()
        self.handle.shutdown()
