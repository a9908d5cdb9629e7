"""Every feature's prompt template and its form agree, so AI_PROVIDER=openai can run every feature.

A template that names a variable its form lacks fails every run under StrictUndefined (and the run is
refunded); a form field the template leaves out never reaches the model. Both are checked here, by
rendering each template over its form's own fields the way the OpenAI provider does.
"""

import pytest
from jinja2 import UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

from tokenapp.features import prompts
from tokenapp.features.forms import FORMS, Field

FEATURES = sorted(FORMS)  # resume_parsing is always parsed locally, but its prompt file is kept true too


def text_fields(feature_key: str) -> list[Field]:
    """The fields whose typed value a prompt can show (a file or a saved resume's id is not text)."""
    return [field for field in FORMS[feature_key] if field.kind not in ("file", "resume")]


def marked_inputs(feature_key: str, *, only_required: bool = False) -> dict:
    """One distinct value per text field, naming the field; a select field gets its first choice."""
    return {
        field.name: field.choices[0][0] if field.kind == "select" else f"<<{field.name}>>"
        for field in text_fields(feature_key)
        if field.required or not only_required
    }


@pytest.mark.parametrize("feature_key", FEATURES)
def test_the_template_uses_exactly_its_form_s_fields(feature_key):
    source = prompts.prompt_template(feature_key)
    used = meta.find_undeclared_variables(SandboxedEnvironment().parse(source))
    fields = {field.name for field in text_fields(feature_key)}
    assert used - fields - {"resume_text"} == set(), "the template names variables its form lacks"
    assert fields - used == set(), "the form asks for fields the template never shows the model"


@pytest.mark.parametrize("feature_key", FEATURES)
def test_the_template_renders_over_its_form_s_fields_and_shows_each_one(feature_key):
    inputs = marked_inputs(feature_key)
    prompt = prompts.feature_prompt(feature_key, inputs)
    for name, value in inputs.items():
        assert value in prompt.user, f"{name} is missing from the rendered prompt"
    assert prompt.system and prompt.feature_key == feature_key


@pytest.mark.parametrize("feature_key", FEATURES)
def test_the_template_renders_with_only_the_required_fields(feature_key):
    required = marked_inputs(feature_key, only_required=True)
    prompt = prompts.feature_prompt(feature_key, required)
    assert [value for value in required.values() if value not in prompt.user] == []


def test_a_template_naming_a_field_its_form_lacks_fails_to_render():
    """The checks above can fail: strict rendering refuses a variable the form does not give."""
    context = prompts.prompt_context("networking_message", marked_inputs("networking_message"))
    with pytest.raises(UndefinedError, match="goal"):
        prompts.render_prompt("What you would like:\n{{ goal }}", context)
