"""A feature's prompt: its template rendered in a Jinja2 sandbox, with user input passed only as variables.

The templates are the text files beside this module, one per feature (`<feature_key>.txt`) and
`_system.txt`, the system prompt they share.
"""

from functools import lru_cache
from pathlib import Path

from jinja2 import StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment

from ...catalog_data import FEATURES
from ..forms import FORMS
from ..providers.base import Prompt

PROMPTS_DIR = Path(__file__).parent

# Plain text for a model, not HTML: no autoescaping. StrictUndefined makes a missing input an
# error instead of a silently empty hole in the prompt.
_ENV = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)
_FEATURE_NAMES = {key: name for key, name, *_rest in FEATURES}


@lru_cache(maxsize=128)
def _compile(template_text: str) -> Template:
    """The compiled template for a source text (prompt files are few, so cache them)."""
    return _ENV.from_string(template_text)


def prompt_template(feature_key: str) -> str:
    """The prompt text for a feature (a sandboxed Jinja template over its inputs)."""
    return (PROMPTS_DIR / f"{feature_key}.txt").read_text(encoding="utf-8")


def prompt_context(feature_key: str, inputs: dict) -> dict:
    """What a feature's template sees: each text field of its form (empty when not given), and the resume's text."""
    context = {
        field.name: inputs.get(field.name, "") for field in FORMS[feature_key] if field.kind not in ("file", "resume")
    }
    context["resume_text"] = inputs.get("resume_text") or (inputs.get("resume") or {}).get("raw_text", "")
    return context


def render_prompt(template_text: str, inputs: dict) -> str:
    """Render a trusted template with untrusted inputs; raise jinja2 errors for missing inputs."""
    return _compile(template_text).render(**inputs)


def feature_title(feature_key: str) -> str:
    """The feature's display name, or its key when the catalogue has no such feature."""
    return _FEATURE_NAMES.get(feature_key, feature_key)


def feature_prompt(feature_key: str, inputs: dict) -> Prompt:
    """The feature's prompt file rendered over the run's inputs, under the shared system prompt."""
    system = (PROMPTS_DIR / "_system.txt").read_text(encoding="utf-8")
    return Prompt(
        system=system,
        user=render_prompt(prompt_template(feature_key), prompt_context(feature_key, inputs)),
        feature_key=feature_key,
    )
