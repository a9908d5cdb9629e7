"""AI providers behind one interface; `build_provider` picks one from configuration."""

from .base import Completion, Prompt, Provider, ProviderError
from .local import LocalProvider
from .openai_compatible import OpenAICompatibleProvider

__all__ = [
    "Completion",
    "LocalProvider",
    "OpenAICompatibleProvider",
    "Prompt",
    "Provider",
    "ProviderError",
    "build_provider",
]


def build_provider(config: dict) -> Provider:
    """The configured provider: the offline engine for AI_PROVIDER=local (the default), else OpenAI's API."""
    kind = config.get("AI_PROVIDER") or "local"
    if kind == "local":
        return LocalProvider()
    if kind != "openai":
        raise ValueError(f"AI_PROVIDER must be local or openai, got {kind!r}")
    api_key = config.get("OPENAI_API_KEY")
    if not api_key:
        raise ValueError("OPENAI_API_KEY is required when AI_PROVIDER=openai")
    raw_timeout = config.get("OPENAI_TIMEOUT") or 30
    try:
        timeout = float(raw_timeout)
    except (TypeError, ValueError):
        raise ValueError(f"OPENAI_TIMEOUT must be a number of seconds, got {raw_timeout!r}") from None
    if timeout <= 0:
        raise ValueError(f"OPENAI_TIMEOUT must be positive, got {raw_timeout!r}")
    return OpenAICompatibleProvider(
        api_key,
        base_url=config.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
        model=config.get("OPENAI_MODEL") or "gpt-4o-mini",
        timeout=timeout,
    )
