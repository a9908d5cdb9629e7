"""Render prompt templates in a Jinja2 sandbox, with user input passed only as variables."""

from functools import lru_cache

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

# Plain text for a model, not HTML: no autoescaping. StrictUndefined makes a missing input an
# error instead of a silently empty hole in the prompt.
_ENV = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=128)
def _compile(template_text: str) -> Template:
    """The compiled template for a source text (prompt files are few, so cache them)."""
    return _ENV.from_string(template_text)


def render_prompt(template_text: str, inputs: dict) -> str:
    """Render a trusted template with untrusted inputs; raise jinja2 errors for missing inputs."""
    return _compile(template_text).render(**inputs)
