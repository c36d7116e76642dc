"""Scaling out: a large suite sharded across CI machines with pytest-split (``--splits N --group I``).

(``-n auto`` with pytest-xdist is exercised on the whole bundled suite in tests/test_bundled.py.)"""

from __future__ import annotations

import pytest

from tests.helpers.forked import runpytest_forked
from tests.helpers.servers import ROOT

# three scenarios x (api, browser, parity): nine items, which pytest-split, knowing no durations,
# cuts 5 + 4, through the middle of the second scenario
SCENARIOS = "\n---\n".join(
    f"name: scenario {n}\nsteps:\n  - send: hello {n}\n  - expect:\n"
    f"      history: {{length: 2, last: [{{role: assistant, content: '#1 echo: hello {n}'}}]}}\n"
    for n in (1, 2, 3)
)


def _shard(project: pytest.Pytester, group: int, *args: str) -> pytest.RunResult:
    return runpytest_forked(
        project,
        "-p",
        "no:cacheprovider",
        "s.chat.yaml",
        "--driver",
        "all",
        "--splits",
        "2",
        "--group",
        str(group),
        *args,
    )


def _collected(project: pytest.Pytester, group: int, *args: str) -> set[str]:
    result = _shard(project, group, "--collect-only", "-q", *args)
    return {line.split("::", 1)[1] for line in result.stdout.lines if line.startswith("s.chat.yaml::")}


@pytest.mark.parametrize(
    ("args", "runs"), [((), ("api", "browser", "parity")), (("-k", "not browser"), ("api", "parity"))]
)
def test_shards_keep_each_scenario_with_its_parity_item(
    project: pytest.Pytester, args: tuple[str, ...], runs: tuple[str, ...]
) -> None:
    """The shards share the scenarios out whole; what -k left out stays out."""
    (project.path / "s.chat.yaml").write_text(SCENARIOS)
    shards = [_collected(project, group, *args) for group in (1, 2)]
    assert shards[0] | shards[1] == {f"scenario {n}[{run}]" for n in (1, 2, 3) for run in runs}
    assert not shards[0] & shards[1]
    for n in (1, 2, 3):
        assert (
            len({i for i, shard in enumerate(shards) if any(name.startswith(f"scenario {n}[") for name in shard)}) == 1
        )


def test_a_shard_runs_its_scenarios_whole(project: pytest.Pytester) -> None:
    """Every parity item of a shard compares its drivers' runs; none is skipped for a missing run."""
    (project.path / "s.chat.yaml").write_text(SCENARIOS)
    shard = _collected(project, 2)
    assert any(name.endswith("[parity]") for name in shard)
    result = _shard(project, 2, "-rs")
    result.assert_outcomes(passed=len(shard))


def test_the_docs_document_sharding() -> None:
    readme = (ROOT / "docs" / "scaling.md").read_text()
    assert "pytest-split" in readme and "--splits 4 --group 1" in readme and "--store-durations" in readme
