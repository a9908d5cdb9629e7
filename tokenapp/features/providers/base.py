"""The provider interface: a prompt in, a completion out, one error type for every failure."""

from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

# User-facing text per error code; deliberately generic so no provider detail leaks.
MESSAGES = {
    "provider_unavailable": "The AI service is unavailable right now. Please try again in a few minutes.",
    "provider_timeout": "The AI service took too long to answer. Please try again.",
    "provider_refused": "The AI service declined this request. Please try again later or rephrase it.",
    "provider_bad_reply": "The AI service sent an unusable answer. Please try again.",
}


@dataclass(frozen=True)
class Prompt:
    """One request to a model: rendered system and user text plus generation settings."""

    system: str
    user: str
    feature_key: str
    max_tokens: int = 1200
    temperature: float = 0.4
    json_mode: bool = False


@dataclass(frozen=True)
class Completion:
    """A model's answer: the text, which model and provider produced it, and token usage."""

    text: str
    model: str
    provider: str
    usage: dict


class ProviderError(Exception):
    """A provider call failed; `code` says how, `message` is safe to show a user."""

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None):
        if code not in MESSAGES:
            raise ValueError(f"unknown provider error code {code!r}")
        self.code = code
        self.message = message or MESSAGES[code]
        self.status = status
        super().__init__(self.message)

    def __repr__(self) -> str:
        """Code, HTTP status (if any) and message; never request data."""
        return f"ProviderError({self.code!r}, status={self.status!r}, message={self.message!r})"


@runtime_checkable
class Provider(Protocol):
    """Anything that makes a feature's output from a run's inputs, or raises ProviderError.

    The local engine works from the inputs themselves; a language model from the
    feature's prompt rendered over them (its own `complete(prompt)`).
    """

    name: str

    def generate(self, feature_key: str, inputs: dict) -> dict:
        """The run's output: {"title", "sections": [{"heading", "body"}], "data"}."""
        ...

    def close(self) -> None:
        """Release what the provider holds (an HTTP connection pool, say)."""
        ...

    def __enter__(self) -> Self:
        """Open what the provider needs; the runner uses it in a `with` block."""
        ...

    def __exit__(self, *exc_info: object) -> None:
        """Close what __enter__ opened."""
        ...
