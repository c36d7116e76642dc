"""Running scenarios on drivers: the runner, the expectation checks and their diffs, parity, sessions."""
