"""AI features: provider clients, prompts and the local engine."""
