"""A provider for any OpenAI-compatible `POST /chat/completions` endpoint, over httpx."""

import json
import logging
import time
from email.utils import parsedate_to_datetime

import httpx

from .. import prompts  # the module, not its names: prompts imports .base, so either may be imported first
from .base import Completion, Prompt, ProviderError

log = logging.getLogger(__name__)

MAX_DELAY = 5.0  # seconds; caps Retry-After and backoff so a request never stalls a worker for long


class _Retryable(Exception):
    """An attempt failed in a way another attempt may fix; `error` is raised if none is left."""

    def __init__(self, error: ProviderError, retry_after: float | None = None):
        super().__init__(error.code)
        self.error = error
        self.retry_after = retry_after


class OpenAICompatibleProvider:
    """Chat completions from OpenAI or a compatible server, with bounded retries."""

    name = "openai"

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        model: str = "gpt-4o-mini",
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ):
        if not api_key:
            raise ValueError("an API key is required (OPENAI_API_KEY)")
        self.model = model
        self.max_retries = max_retries
        self.backoff = backoff
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}"},
        )

    def __repr__(self) -> str:
        """Endpoint and model only; the key stays out of reprs and tracebacks."""
        return f"OpenAICompatibleProvider(url={self._url!r}, model={self.model!r})"

    def __enter__(self) -> "OpenAICompatibleProvider":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying HTTP connection pool."""
        self._client.close()

    def generate(self, feature_key: str, inputs: dict) -> dict:
        """The feature's prompt file sent as one completion; the reply becomes the output's one section."""
        completion = self.complete(prompts.feature_prompt(feature_key, inputs))
        title = prompts.feature_title(feature_key)
        return {
            "title": title,
            "sections": [{"heading": title, "body": completion.text}],
            "data": {"model": completion.model},
        }

    def complete(self, prompt: Prompt) -> Completion:
        """Run the prompt, retrying transient failures; raise ProviderError when out of attempts."""
        body = self._body(prompt)
        attempt = 0
        while True:
            try:
                return self._attempt(body, prompt, attempt)
            except _Retryable as retry:
                if attempt >= self.max_retries:
                    raise retry.error from None
                time.sleep(self._delay(attempt, retry.retry_after))
                attempt += 1

    def _body(self, prompt: Prompt) -> dict:
        """The chat-completions request body for a prompt."""
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
            "max_tokens": prompt.max_tokens,
            "temperature": prompt.temperature,
        }
        if prompt.json_mode:
            body["response_format"] = {"type": "json_object"}
        return body

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before the next attempt: the server's hint, else exponential backoff."""
        delay = retry_after if retry_after is not None else self.backoff * 2**attempt
        return max(0.0, min(delay, MAX_DELAY))

    def _attempt(self, body: dict, prompt: Prompt, attempt: int) -> Completion:
        """One HTTP round trip: send, log, classify the status, parse the reply."""
        started = time.monotonic()
        response = self._send(body, prompt.feature_key, attempt, started)
        latency_ms = (time.monotonic() - started) * 1000
        log.info(
            "AI provider reply: status=%s latency_ms=%.0f feature=%s attempt=%d",
            response.status_code,
            latency_ms,
            prompt.feature_key,
            attempt + 1,
        )
        _check_status(response)
        return self._parse(response, prompt.json_mode)

    def _send(self, body: dict, feature_key: str, attempt: int, started: float) -> httpx.Response:
        """POST the body, turning transport failures into ProviderError (retryable or not)."""
        try:
            return self._client.post(self._url, json=body)
        except httpx.TimeoutException as exc:
            # A connect timeout means the host could not be reached: that is unavailability.
            code = "provider_unavailable" if isinstance(exc, httpx.ConnectTimeout) else "provider_timeout"
            error = ProviderError(code)
        except httpx.TransportError:
            error = ProviderError("provider_unavailable")
        except httpx.HTTPError:
            raise ProviderError("provider_bad_reply") from None
        latency_ms = (time.monotonic() - started) * 1000
        log.warning(
            "AI provider request failed: error=%s latency_ms=%.0f feature=%s attempt=%d",
            error.code,
            latency_ms,
            feature_key,
            attempt + 1,
        )
        raise _Retryable(error)

    def _parse(self, response: httpx.Response, json_mode: bool) -> Completion:
        """A Completion from a 2xx reply, or ProviderError for refusals and malformed replies."""
        data, choice, message = _first_choice(response)
        if choice.get("finish_reason") == "content_filter" or message.get("refusal"):
            raise ProviderError("provider_refused", status=response.status_code)
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ProviderError("provider_bad_reply", status=response.status_code)
        if json_mode and not _is_json(content):
            raise ProviderError("provider_bad_reply", status=response.status_code)
        usage = data.get("usage")
        model = data.get("model")
        return Completion(
            text=content,
            model=model if isinstance(model, str) and model else self.model,
            provider=self.name,
            usage=usage if isinstance(usage, dict) else {},
        )


def _check_status(response: httpx.Response) -> None:
    """Raise for any non-2xx status: 429 and 5xx as retryable, other statuses as final."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 429:
        raise _Retryable(
            ProviderError("provider_refused", status=status), _retry_after(response.headers.get("Retry-After"))
        )
    if status >= 500:
        raise _Retryable(ProviderError("provider_unavailable", status=status))
    if 400 <= status < 500:
        raise ProviderError("provider_refused", status=status)
    raise ProviderError("provider_bad_reply", status=status)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def _first_choice(response: httpx.Response) -> tuple[dict, dict, dict]:
    """The body, its first choice and that choice's message, or provider_bad_reply."""
    try:
        data = response.json()
    except ValueError:
        raise ProviderError("provider_bad_reply", status=response.status_code) from None
    choices = data.get("choices") if isinstance(data, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or not isinstance(message, dict):
        raise ProviderError("provider_bad_reply", status=response.status_code)
    return data, choice, message


def _is_json(text: str) -> bool:
    """Whether text parses as JSON."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
