"""The AI provider layer against a scripted OpenAI-compatible server on loopback."""

import json
import logging
import socket
import time

import httpx
import jinja2
import pytest

from support.openai import chat_reply
from tokenapp.features.prompts import render_prompt
from tokenapp.features.providers import (
    Completion,
    LocalProvider,
    OpenAICompatibleProvider,
    Prompt,
    Provider,
    ProviderError,
    build_provider,
)

KEY = "sk-test-SECRET-do-not-leak-1234"
PROMPT = Prompt(
    system="You write cover letters.",
    user="PRIVATE-USER-TEXT about Ada",
    feature_key="cover_letter",
    max_tokens=300,
    temperature=0.2,
)
JSON_PROMPT = Prompt(system="Answer in JSON.", user="Score this CV", feature_key="cv_score", json_mode=True)


@pytest.fixture
def fake_openai_provider(fake_openai):
    providers = []

    def make(**overrides):
        options = {"base_url": fake_openai.url, "timeout": 2.0, "connect_timeout": 1.0, "backoff": 0, **overrides}
        providers.append(OpenAICompatibleProvider(KEY, **options))
        return providers[-1]

    yield make
    for provider in providers:
        provider.close()


def failing(provider, prompt=PROMPT) -> ProviderError:
    """The ProviderError a completion raises."""
    with pytest.raises(ProviderError) as caught:
        provider.complete(prompt)
    return caught.value


def test_success_sends_the_chat_request_and_returns_a_completion(fake_openai, fake_openai_provider):
    fake_openai.script(chat_reply("Dear hiring manager"))
    completion = fake_openai_provider(model="gpt-4o-mini").complete(PROMPT)
    assert completion == Completion(
        text="Dear hiring manager", model="gpt-4o-mini-2024-07-18", provider="openai", usage=chat_reply()["usage"]
    )
    [sent] = fake_openai.requests
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}"
    assert sent["json"] == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You write cover letters."},
            {"role": "user", "content": "PRIVATE-USER-TEXT about Ada"},
        ],
        "max_tokens": 300,
        "temperature": 0.2,
    }


def test_json_mode_asks_for_a_json_object_and_returns_it(fake_openai, fake_openai_provider):
    fake_openai.script(chat_reply('{"score": 7}'))
    completion = fake_openai_provider().complete(JSON_PROMPT)
    assert json.loads(completion.text) == {"score": 7}
    assert fake_openai.requests[0]["json"]["response_format"] == {"type": "json_object"}


def test_json_mode_with_non_json_content_is_a_bad_reply(fake_openai, fake_openai_provider):
    fake_openai.script(chat_reply("Sure! Here is your score: 7"))
    assert failing(fake_openai_provider(), JSON_PROMPT).code == "provider_bad_reply"
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    "first",
    [(500, {"error": {"message": "boom"}}, {}), (429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})],
    ids=["500", "429-retry-after-0"],
)
def test_a_transient_failure_is_retried_then_succeeds(fake_openai, fake_openai_provider, first):
    fake_openai.script(first, chat_reply("second time"))
    assert fake_openai_provider().complete(PROMPT).text == "second time"
    assert len(fake_openai.requests) == 2


def test_persistent_500_is_unavailable_after_all_attempts(fake_openai, fake_openai_provider):
    fake_openai.script(*[(503, {"error": {"message": "overloaded"}}, {})] * 5)
    error = failing(fake_openai_provider(max_retries=2))
    assert (error.code, error.status) == ("provider_unavailable", 503)
    assert len(fake_openai.requests) == 3


def test_429_every_time_is_refused_after_all_attempts(fake_openai, fake_openai_provider):
    fake_openai.script(*[(429, {"error": {}}, {"Retry-After": "0"})] * 3)
    assert failing(fake_openai_provider(max_retries=1)).code == "provider_refused"
    assert len(fake_openai.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403])
def test_other_4xx_is_refused_without_retry(fake_openai, fake_openai_provider, status):
    fake_openai.script((status, {"error": {"message": f"Incorrect API key provided: {KEY}"}}, {}))
    error = failing(fake_openai_provider())
    assert (error.code, error.status) == ("provider_refused", status)
    assert "Incorrect API key" not in str(error)
    assert len(fake_openai.requests) == 1


def test_a_slow_server_is_a_timeout(fake_openai, fake_openai_provider):
    fake_openai.script(("sleep", 3), ("sleep", 3))
    started = time.monotonic()
    error = failing(fake_openai_provider(timeout=0.2, max_retries=1))
    assert error.code == "provider_timeout"
    assert len(fake_openai.requests) == 2
    assert time.monotonic() - started < 2


def test_connection_refused_is_unavailable_after_retries(fake_openai_provider):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failing(fake_openai_provider(base_url=f"http://127.0.0.1:{port}/v1", max_retries=2))
    assert error.code == "provider_unavailable"


@pytest.mark.parametrize(
    "reply",
    [
        (200, "<html>gateway page</html>", {"Content-Type": "text/html"}),
        (200, {"object": "chat.completion"}, {}),
        (200, {"choices": []}, {}),
        (200, {"choices": [{"message": None}]}, {}),
        (200, ["not", "an", "object"], {}),
        chat_reply(""),
        chat_reply(None),
        chat_reply("   \n"),
    ],
    ids=[
        "not-json",
        "no-choices",
        "empty-choices",
        "null-message",
        "list-body",
        "empty-content",
        "null-content",
        "blank-content",
    ],
)
def test_malformed_replies_are_bad_replies(fake_openai, fake_openai_provider, reply):
    fake_openai.script(reply)
    assert failing(fake_openai_provider()).code == "provider_bad_reply"
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        chat_reply("partial", finish_reason="content_filter"),
        chat_reply(None, refusal="I can't help with that."),
    ],
    ids=["content-filter", "refusal"],
)
def test_content_policy_refusals_are_refused(fake_openai, fake_openai_provider, reply):
    fake_openai.script(reply)
    error = failing(fake_openai_provider())
    assert error.code == "provider_refused"
    assert "I can't help" not in str(error)


def test_the_key_and_prompt_never_reach_errors_or_logs(fake_openai, fake_openai_provider, caplog):
    caplog.set_level(logging.DEBUG)
    fake_openai.script(
        chat_reply("fine"), (401, {"error": {"message": KEY}}, {}), *[(500, {"error": {"message": KEY}}, {})] * 2
    )
    provider = fake_openai_provider(max_retries=1)
    provider.complete(PROMPT)
    errors = [failing(provider), failing(provider)]
    logged = "\n".join(f"{record.getMessage()} {record.args!r}" for record in caplog.records)
    assert "status=200" in logged and "latency_ms=" in logged
    for text in [logged, repr(provider), *map(str, errors), *map(repr, errors)]:
        assert KEY not in text and "sk-test" not in text
        assert PROMPT.user not in text and PROMPT.system not in text


def test_errors_carry_a_known_code_and_a_user_message():
    error = ProviderError("provider_timeout")
    assert error.message == str(error) and "too long" in error.message
    with pytest.raises(ValueError):
        ProviderError("something_else")


def test_provider_is_a_context_manager_that_closes_its_client(fake_openai):
    with OpenAICompatibleProvider(KEY, base_url=fake_openai.url, backoff=0) as provider:
        assert isinstance(provider, Provider)
    assert provider._client.is_closed


def test_a_custom_transport_is_used():
    def answer(req: httpx.Request) -> httpx.Response:
        assert str(req.url) == "https://llm.example/v1/chat/completions"
        return httpx.Response(200, json=chat_reply("via transport"))

    provider = OpenAICompatibleProvider(KEY, base_url="https://llm.example/v1/", transport=httpx.MockTransport(answer))
    with provider:
        assert provider.complete(PROMPT).text == "via transport"


def test_build_provider_local_is_the_offline_engine():
    for config in ({"AI_PROVIDER": "local"}, {}):
        with build_provider(config) as provider:
            assert isinstance(provider, LocalProvider) and isinstance(provider, Provider)
            assert provider.name == "local"


def test_the_local_provider_runs_the_engine_and_reads_a_pasted_resume_as_the_resume():
    from tokenapp.features import engine

    pasted = "Ada Lovelace\nPython engineer\n\nSKILLS\nPython, SQL, Docker"
    inputs = {
        "job_description": "Acme Robotics is hiring a Python engineer with Kubernetes.",
        "resume_text": pasted,
        "tone": "concise",
    }
    output = LocalProvider().generate("cover_letter", inputs)
    assert output == engine.generate("cover_letter", {**inputs, "resume": pasted})
    assert output != engine.generate("cover_letter", {**inputs, "resume": None})
    assert inputs == {"job_description": inputs["job_description"], "resume_text": pasted, "tone": "concise"}
    saved = engine.parse_text("Grace Hopper\nCOBOL engineer\n\nSKILLS\nCOBOL").to_dict()
    assert LocalProvider().generate("cover_letter", {**inputs, "resume": saved}) == engine.generate(
        "cover_letter", {**inputs, "resume": saved}
    )


def test_the_openai_provider_sends_the_feature_prompt_and_answers_one_section(fake_openai, fake_openai_provider):
    fake_openai.script(chat_reply("Dear Acme Robotics team"))
    output = fake_openai_provider().generate(
        "cover_letter",
        {"job_description": "Acme Robotics is hiring.", "resume_text": "Ada Lovelace", "tone": "concise"},
    )
    assert output == {
        "title": "Cover Letter Generation",
        "sections": [{"heading": "Cover Letter Generation", "body": "Dear Acme Robotics team"}],
        "data": {"model": "gpt-4o-mini-2024-07-18"},
    }
    system, user = fake_openai.requests[0]["json"]["messages"]
    assert "Acme Robotics is hiring." in user["content"] and "Ada Lovelace" in user["content"]
    assert "concise" in user["content"] and system["role"] == "system" and system["content"]


def test_build_provider_openai_reads_its_settings():
    provider = build_provider(
        {
            "AI_PROVIDER": "openai",
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_MODEL": "llama-3.1-8b",
            "OPENAI_TIMEOUT": "12.5",
        }
    )
    with provider:
        assert isinstance(provider, OpenAICompatibleProvider)
        assert provider.model == "llama-3.1-8b"
        assert provider._url == "http://127.0.0.1:9/v1/chat/completions"
        assert provider._client.timeout.read == 12.5
    with build_provider({"AI_PROVIDER": "openai", "OPENAI_API_KEY": KEY}) as default:
        assert default.model == "gpt-4o-mini"
        assert default._url == "https://api.openai.com/v1/chat/completions"
        assert default._client.timeout.read == 30


@pytest.mark.parametrize(
    "config, named",
    [
        ({"AI_PROVIDER": "openai"}, "OPENAI_API_KEY"),
        ({"AI_PROVIDER": "openai", "OPENAI_API_KEY": ""}, "OPENAI_API_KEY"),
        ({"AI_PROVIDER": "openai", "OPENAI_API_KEY": KEY, "OPENAI_TIMEOUT": "soon"}, "OPENAI_TIMEOUT"),
        ({"AI_PROVIDER": "magic"}, "AI_PROVIDER"),
    ],
)
def test_build_provider_rejects_bad_settings(config, named):
    with pytest.raises(ValueError, match=named):
        build_provider(config)


def test_render_prompt_treats_user_input_as_text():
    template = "Write a letter for {{ name }}.\nJob: {{ job }}\n"
    rendered = render_prompt(
        template, {"name": "{{ 7*7 }} {% for x in [1] %}x{% endfor %}", "job": "<b>Engineer</b> & co"}
    )
    assert rendered == ("Write a letter for {{ 7*7 }} {% for x in [1] %}x{% endfor %}.\nJob: <b>Engineer</b> & co\n")


def test_render_prompt_requires_every_input():
    with pytest.raises(jinja2.UndefinedError):
        render_prompt("Hello {{ name }}", {})


def test_render_prompt_sandboxes_the_template():
    with pytest.raises(jinja2.exceptions.SecurityError):
        render_prompt("{{ cycler.__init__.__globals__ }}", {})
