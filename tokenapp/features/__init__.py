"""The AI features, in one area: what each feature asks for, how a run is paid for, made and shown.

- `forms`: each feature's form, declared once (its fields and choices), and the flagship addresses.
- `prompts/`: each feature's prompt file, rendered in a Jinja sandbox over a run's inputs.
- `providers/`: the configured AI provider (`build_provider`): the offline `engine/` or an OpenAI-compatible API.
- `uploads`: a resume upload's cheap checks in the request, and its bytes kept until the run parses them.
- `isolation`: a parse in a child process under a hard time and memory limit.
- `runner`: a run's inputs checked against its form, and its output made by the provider.
- `runs`: the use case: a held charge buys exactly one run, a job that consumes or refunds it.
- `views`: the blueprint (feature pages, Generate, a run's progress); the only web module here.

Everything but `views` is service code: it imports nothing from the web layer
(tests/test_service_layering.py), so a job worker loads no view. What a
press costs and charges (the TokenGate, the ledger, charges) are token
concerns and stay in `tokenapp.services`.
"""
