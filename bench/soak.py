"""Flake soak: run the whole bundled suite N times on both drivers and count failures per scenario.

Each round runs ``pytest scenarios/ --driver all`` (API, browser and parity items) against each
reference app (gr.Blocks and gr.ChatInterface) in a fresh pytest process, reads its JUnit XML and
tallies every item that did not pass. Prints a markdown table and writes
bench/results/soak.json after every round (so a soak cut short still leaves its figures).
``--apps random`` soaks ``scenarios/random/`` on the random-reply app instead (its replies differ
on every run: the contracts, the fuzzy matchers and parity by those matchers must hold anyway);
its figures go to bench/results/soak-random.json.

    .venv/bin/python bench/soak.py [--runs 20] [-n 2] [--apps blocks chat_interface random]

The bar (issues 7 and 19): zero failures over 20 runs.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the scenarios written for the reference apps (scenarios/llm/ holds those of the model-backed apps)
REFERENCE_SCENARIOS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.chat.yaml"))
RANDOM_SCENARIOS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios" / "random").glob("*.chat.yaml"))
#: what each app soaks: its scenarios, and the app to point them at (None: the files' own app:)
APPS: dict[str, tuple[list[str], str | None]] = {
    "blocks": (REFERENCE_SCENARIOS, "fixtures.reference_app:demo"),
    "chat_interface": (REFERENCE_SCENARIOS, "fixtures.chat_interface_app:demo"),
    "random": (RANDOM_SCENARIOS, None),
}
DEFAULT_APPS = ["blocks", "chat_interface"]


def one_round(app: tuple[list[str], str | None], workers: int, junit: Path) -> tuple[dict[str, str], float, int]:
    """Outcome per item of one bundled run, its wall time and pytest's exit code."""
    scenarios, target = app
    command = [
        sys.executable,
        "-m",
        "pytest",
        *scenarios,
        "-q",
        "-p",
        "no:cacheprovider",
        "--driver",
        "all",
        *(["--chat-app", target] if target else []),
        "--junitxml",
        str(junit),
    ]
    if workers > 1:
        command += ["-n", str(workers)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    outcomes: dict[str, str] = {}
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            outcomes[name] = (
                "failed"
                if case.find("failure") is not None or case.find("error") is not None
                else "skipped"
                if case.find("skipped") is not None
                else "passed"
            )
    if done.returncode not in (0, 1) or not outcomes:
        outcomes["(the run itself)"] = (
            f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:] if done.stderr.strip() else ''}"
        )
    return outcomes, seconds, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("-n", "--workers", type=int, default=2, help="pytest-xdist workers per run (default 2)")
    parser.add_argument("--apps", nargs="+", choices=list(APPS), default=DEFAULT_APPS, help="apps to soak")
    args = parser.parse_args()
    apps = {name: APPS[name] for name in args.apps}
    failures: dict[str, collections.Counter[str]] = {app: collections.Counter() for app in apps}
    items: dict[str, int] = {}
    times: dict[str, list[float]] = {app: [] for app in apps}
    name = "soak" if args.apps == DEFAULT_APPS else "soak-" + "-".join(args.apps)
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(1, args.runs + 1):
            for app, spec in apps.items():
                outcomes, seconds, code = one_round(spec, args.workers, Path(tmp) / f"{app}.xml")
                items[app] = sum(1 for o in outcomes.values() if o in ("passed", "failed", "skipped"))
                times[app].append(seconds)
                for name, outcome in outcomes.items():
                    if outcome not in ("passed", "skipped"):
                        failures[app][name] += 1
                print(
                    f"round {round_}/{args.runs} {app}: {seconds:.0f}s, exit {code}, "
                    f"{sum(1 for o in outcomes.values() if o == 'failed')} failed",
                    flush=True,
                )
            summary = {
                "runs": round_,
                "workers": args.workers,
                "items_per_run": items,
                "seconds_per_run": {app: round(sum(t) / len(t), 1) for app, t in times.items()},
                "failures": {app: dict(counter) for app, counter in failures.items()},
            }
            out.write_text(json.dumps(summary, indent=2))
    print()
    print("| app | runs | items per run | mean s per run | failed items (count) |")
    print("|---|---|---|---|---|")
    for app in apps:
        failed = ", ".join(f"{name} ({count})" for name, count in failures[app].most_common()) or "none"
        print(
            f"| {app} | {args.runs} | {items.get(app, 0)} "
            f"| {sum(times[app]) / max(len(times[app]), 1):.0f} | {failed} |"
        )
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
