"""The runner, --update-expectations and parity on the scripted in-memory driver: no Gradio server,
no browser, milliseconds each. (End to end, on real apps: test_bundled, test_update, test_browser.)"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.errors import ActionError, AppRaised, ContractViolated, ExpectationFailed, OutOfTime, ScenarioError
from harness.output.update import Updates, write_edits
from harness.run.parity import compare_runs
from harness.run.runner import Limits, RunResult, run_scenario
from harness.run.sessions import run_sessions
from harness.spec.loader import load_file, load_text
from harness.spec.model import Scenario
from tests.helpers.scripted import FAULTS, ScriptedDriver

CHAT = """\
name: undo and retry
contracts: false  # these tests are about expectations; the contracts have their own below
steps:
  - send: hello
  - send: hi
  - expect:
      history:
        - {role: user, content: hello}
        - {role: assistant, content: "#1 echo: hello"}
        - {role: user, content: hi}
        - {role: assistant, content: {regex: "^#2 echo: hi$"}}
      stream: {min_updates: 4, growing: true}
  - undo: {}
  - expect:
      history: {length: 2}
      input: hi
  - retry: {}
  - expect:
      history:
        length: 2
        last: [{role: assistant, content: "#3 echo: hello"}]
  - like: {index: -1}
  - edit: {index: 0, text: hey}
  - expect:
      history:
        - {role: user, content: hey}
        - {role: assistant, content: "#4 echo: hey"}
  - clear: {}
  - expect:
      history: []
"""


def _scenario(text: str = CHAT) -> Scenario:
    (scenario,) = load_text(text, "units.chat.yaml")
    return scenario


def _run(scenario: Scenario, driver: ScriptedDriver, **kwargs: object) -> RunResult:
    driver.open(scenario)
    try:
        return run_scenario(scenario, driver, **kwargs)  # type: ignore[arg-type]
    finally:
        driver.close()


# -- the runner ------------------------------------------------------------------------------------


def test_a_correct_app_passes_every_step_and_the_run_is_recorded() -> None:
    result = _run(_scenario(), ScriptedDriver())
    assert [entry.step.number for entry in result.steps] == list(range(1, 13))
    assert result.final_history == []
    sent = result.steps[1]
    assert sent.action is not None and len(sent.action.stream) == 4 and sent.action.stream[-1][-1].text == "#2 echo: hi"
    assert result.asserted_components == {"(input box)": "hi"}


@pytest.mark.parametrize("fault", sorted(set(FAULTS) - {"raises_on_boom"}))
def test_each_broken_variant_fails_the_step_that_shows_it_with_its_context(fault: str) -> None:
    with pytest.raises(ExpectationFailed) as caught:
        _run(_scenario(), ScriptedDriver(faults=(fault,)))
    exc = caught.value
    assert exc.step is not None and exc.step.kind == "expect"
    assert exc.history is not None and exc.result is not None and exc.result.steps[-1].step == exc.step
    assert "expected" in exc.detail and exc.detail.count("\n") >= 2  # what was expected, and the chat


CONTRACTS_ONLY = """\
name: no expected text
steps:
  - send: hello
  - send: hi
  - retry: {}
  - undo: {}
"""


@pytest.mark.parametrize(
    ("fault", "step", "broken"),
    [
        ("retry_appends", 3, "retry appended a reply instead of replacing the last one"),
        ("undo_keeps_reply", 4, "undo kept message 2 and what follows it"),
    ],
)
def test_the_contracts_alone_catch_a_broken_variant(fault: str, step: int, broken: str) -> None:
    _run(_scenario(CONTRACTS_ONLY), ScriptedDriver())
    with pytest.raises(ContractViolated) as caught:
        _run(_scenario(CONTRACTS_ONLY), ScriptedDriver(faults=(fault,)))
    assert caught.value.step is not None and caught.value.step.number == step
    assert caught.value.detail.startswith(broken)
    off = CONTRACTS_ONLY.replace("steps:", "contracts: {retry: false, undo: false}\nsteps:")
    _run(_scenario(off), ScriptedDriver(faults=(fault,)))  # fitted to the app: no violation


def test_an_app_error_fails_the_step_unless_the_next_step_expects_it() -> None:
    boom = "name: b\nsteps:\n  - send: boom\n  - expect:\n      history: {length: 1}\n"
    with pytest.raises(AppRaised, match="boom: the model is overloaded"):
        _run(_scenario(boom), ScriptedDriver(faults=("raises_on_boom",)))
    expected = boom.replace("history: {length: 1}", "error: {contains: overloaded}")
    assert _run(_scenario(expected), ScriptedDriver(faults=("raises_on_boom",))).final_history[0].text == "boom"


def test_an_action_the_app_cannot_do_names_the_step() -> None:
    with pytest.raises(ActionError, match="nothing to undo") as caught:
        _run(_scenario("name: u\nsteps:\n  - undo: {}\n"), ScriptedDriver())
    assert caught.value.step is not None and caught.value.step.number == 1


def test_a_spent_scenario_budget_stops_before_the_next_step() -> None:
    spent = Limits(step=5.0, scenario=1.0, deadline=time.monotonic() - 1)
    with pytest.raises(OutOfTime, match="ran out before step 1"):
        _run(_scenario(), ScriptedDriver(), limits=spent)


def test_a_call_checks_what_the_endpoint_returned() -> None:
    call = "name: c\nsteps:\n  - call: {api_name: /respond, args: [hi], result: ['#0 echo: hi', 4]}\n"
    with pytest.raises(ExpectationFailed) as caught:
        _run(_scenario(call), ScriptedDriver())
    assert caught.value.detail == "/respond returned: expected ['#0 echo: hi', 4], got ['#0 echo: hi', 3]"


# -- --update-expectations -------------------------------------------------------------------------


def test_update_records_exact_values_and_leaves_fuzzy_ones(tmp_path: Path) -> None:
    path = tmp_path / "wrong.chat.yaml"
    wrong = CHAT.replace('"#1 echo: hello"}', '"#1 echo: WRONG"}  # kept comment').replace("input: hi", "input: nope")
    wrong = wrong.replace('{regex: "^#2 echo: hi$"}', '{regex: "^#9"}')  # fuzzy: never rewritten
    path.write_text(wrong)
    (scenario,) = load_file(path)
    updates = Updates(scenario)
    with pytest.raises(ExpectationFailed) as caught:  # the fuzzy matcher still fails the run
        _run(scenario, ScriptedDriver(), update=updates)
    assert "expected text that matches '^#9'" in caught.value.detail
    changes, problems = write_edits(updates.edits)
    assert (
        problems == [] and len(changes) == 1 and "'#1 echo: WRONG' -> '#1 echo: hello'" in changes[0].replace('"', "'")
    )
    assert "# kept comment" in path.read_text() and '{regex: "^#9"}' in path.read_text()

    path.write_text(path.read_text().replace('{regex: "^#9"}', '{regex: "^#2"}'))
    (scenario,) = load_file(path)
    updates = Updates(scenario)
    _run(scenario, ScriptedDriver(), update=updates)  # the input box is recorded too, then all holds
    write_edits(updates.edits)
    (scenario,) = load_file(path)
    _run(scenario, ScriptedDriver())
    assert "input: hi" in path.read_text()


def test_two_runs_that_saw_different_values_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "conflict.chat.yaml"
    path.write_text(
        "name: c\nsteps:\n  - send: hello\n  - expect:\n      history:\n        last: [{role: assistant, content: x}]\n"
    )
    (scenario,) = load_file(path)
    edits = []
    for fault in ((), ("shouts",)):
        updates = Updates(scenario)
        _run(scenario, ScriptedDriver(faults=fault), update=updates)
        edits.extend(updates.edits)
    before = path.read_text()
    changes, problems = write_edits(edits)
    assert changes == [] and "the runs saw different values" in problems[0] and path.read_text() == before


# -- parity and sessions ---------------------------------------------------------------------------


def test_parity_holds_for_two_correct_runs_and_names_the_first_difference() -> None:
    scenario = _scenario()
    first, second = (_run(scenario, ScriptedDriver(name=n)) for n in ("api", "browser"))
    assert compare_runs(first, second) == []
    lenient = _scenario(
        CHAT.replace(
            'length: 2\n        last: [{role: assistant, content: "#3 echo: hello"}]', "last: [{role: assistant}]"
        )
    )
    good = _run(lenient, ScriptedDriver(name="api"))
    odd = _run(lenient, ScriptedDriver(name="browser", faults=("retry_appends",)))
    (problem,) = compare_runs(good, odd)
    assert problem.startswith("history at step 7 (expect) (units.chat.yaml:18): api has 2 messages, browser has 3")


def test_simultaneous_sessions_of_a_correct_app_agree() -> None:
    outcome = run_sessions(_scenario(), ScriptedDriver, 3, timeout=5.0)
    assert outcome.problems() == [] and len([r for r in outcome.results if r is not None]) == 3


# -- parity by the scenario's matchers, saved values, repeats ----------------------------------------

FUZZY = """\
name: fuzzy
steps:
  - send: hello
  - send: hi
  - expect:
      history:
        - {role: user, content: hello}
        - {role: assistant, content: {regex: "(?i)echo: hello"}}
        - {role: user, content: hi}
        - {role: assistant, content: {regex: "(?i)echo: hi"}}
"""


def test_parity_compares_text_a_matcher_checked_by_that_matcher() -> None:
    """A reply checked with a regex may differ between the runs as long as both satisfy it;
    one checked exactly, or not checked at all, must be equal (unless parity is structure)."""
    calm, loud = (
        _run(_scenario(FUZZY), ScriptedDriver(name="api")),
        _run(_scenario(FUZZY), ScriptedDriver(name="browser", faults=("shouts",))),
    )
    assert compare_runs(calm, loud) == []
    (exact,) = compare_runs(calm, loud, mode="exact")
    assert exact.startswith("history at step 3 (expect) (units.chat.yaml:5): message 1 differs in content")
    unchecked = FUZZY.replace('{regex: "(?i)echo: hi"}', "{any: true}").replace(
        '{regex: "(?i)echo: hello"}', '"#1 echo: hello"'
    )
    calm, loud = (
        _run(_scenario(unchecked), ScriptedDriver(name="api")),
        _run(
            _scenario(unchecked.replace('"#1 echo: hello"', "{regex: .}")),
            ScriptedDriver(name="browser", faults=("shouts",)),
        ),
    )
    assert compare_runs(calm, loud)[0].startswith("history at step 3 (expect) (units.chat.yaml:5): message 1 differs")
    assert compare_runs(calm, loud, mode="structure") == []
    three = FUZZY + "  - send: more\n"  # the third reply is never checked: its text must be equal
    calm, loud = (
        _run(_scenario(three), ScriptedDriver(name=n, faults=f)) for n, f in (("api", ()), ("b", ("shouts",)))
    )
    (problem,) = compare_runs(calm, loud)
    assert problem.startswith("final history: message 5 differs in content")


def test_a_fuzzy_text_both_runs_must_satisfy_fails_parity_when_one_does_not() -> None:
    calm = _run(_scenario(FUZZY), ScriptedDriver(name="api"))
    lenient = FUZZY.replace('{regex: "(?i)echo: hi"}', '{regex: "echo: hi"}')
    loud = _run(
        _scenario(lenient.replace('"echo: hi"', '"(?i)echo: hi"')), ScriptedDriver(name="b", faults=("shouts",))
    )
    # compared under the first run's scenario: its matcher is case-sensitive, the shouting run fails it
    calm_strict = _run(_scenario(lenient), ScriptedDriver(name="api"))
    (problem,) = compare_runs(calm_strict, loud)
    assert "message 3: the b run's text does not satisfy {regex: 'echo: hi'}" in problem
    assert compare_runs(calm, loud) == []


SAVED = """\
name: saved
steps:
  - send: hello
  - save: first
  - retry: {}
  - expect:
      history:
        last: [{role: assistant, content: {differs_from: first}}]
  - save: {as: prompt, message: 0}
  - send: "again: ${prompt} / ${first} / $${literal}"
  - expect:
      history:
        last:
          - {role: user, content: "again: hello / #1 echo: hello / ${literal}"}
          - {role: assistant, content: {regex: "^#3"}}
      components: {System prompt: {same_as: system}}
"""


def test_saved_values_feed_matchers_and_later_messages() -> None:
    with pytest.raises(ScenarioError, match="no value is saved under 'system' before it"):
        _scenario(SAVED)
    text = SAVED.replace(
        "  - save: {as: prompt", "  - save: {as: system, component: System prompt}\n  - save: {as: prompt"
    )
    result = _run(_scenario(text), ScriptedDriver())
    assert result.saved == {"first": "#1 echo: hello", "system": "", "prompt": "hello"}
    same = text.replace("differs_from: first", "same_as: first")
    with pytest.raises(ExpectationFailed) as caught:
        _run(_scenario(same), ScriptedDriver())
    assert "expected the value saved as 'first' ('#1 echo: hello'), got '#2 echo: hello'" in caught.value.detail


def test_a_repeat_tally_counts_runs_and_steps() -> None:
    from harness.run.repeats import RepeatTally

    scenario = _scenario(FUZZY.replace("(?i)", ""))  # a shouting reply fails it
    tally = RepeatTally(scenario, runs=3, needed=2)
    tally.add(_run(scenario, ScriptedDriver()), None)
    with pytest.raises(ExpectationFailed) as caught:
        _run(scenario, ScriptedDriver(faults=("shouts",)))
    tally.add(caught.value.result, caught.value)
    assert not tally.held and tally.rate() == "1/2 passed, 2 needed"
    assert tally.step_rates() == [
        "step 1 (send): 2/2 passed",
        "step 2 (send): 2/2 passed",
        "step 3 (expect): 1/2 passed",
    ]
    assert tally.failures()[0].startswith("run 2: step 3 (expect): expectation failed: history differs")
    tally.add(_run(scenario, ScriptedDriver()), None)
    assert tally.held and tally.as_dict()["rate"] == "2/3 passed, 2 needed"


def test_a_literal_placeholder_and_a_component_named_contracts_are_kept() -> None:
    text = 'name: l\nsteps:\n  - set: {contracts: NDA}\n  - send: "costs $${price}"\n'
    driver = ScriptedDriver()
    driver.components["contracts"] = ""
    result = _run(_scenario(text), driver)
    assert driver.components["contracts"] == "NDA"
    assert result.final_history[0].text == "costs ${price}"
