"""The offline engine (`tokenapp.features.engine`) as a provider: deterministic, no network, no key."""

from typing import Any


class LocalProvider:
    """Runs the feature's generator in the local engine over the run's own inputs."""

    name = "local"

    def __repr__(self) -> str:
        return "LocalProvider()"

    def __enter__(self) -> "LocalProvider":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release: the engine holds no connection."""

    def generate(self, feature_key: str, inputs: dict[str, Any]) -> dict:
        """The engine's output for the feature; a pasted resume stands in for a saved one."""
        from .. import engine  # on first use only: the engine is large, and a web worker seldom runs it

        engine_inputs = dict(inputs)
        engine_inputs.setdefault("resume", inputs.get("resume_text"))
        return engine.generate(feature_key, engine_inputs)
