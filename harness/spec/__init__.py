"""What a scenario file means: the model, the loader (YAML + schema -> model), matchers, the sandbox."""
