"""The benchmark: the harness against what a user would write by hand, and against the app's own time.

    .venv/bin/python bench/run.py [--runs 7] [--skip-suite]      (or: make bench)

For a set of bundled scenarios, on the in-process reference app:

* median wall time per scenario of the API driver and the browser driver (a fresh session each
  run, expectations checked), of a hand-written gradio_client script and a hand-written Playwright
  test doing the same actions (bench/baselines.py), and the app's own time (its streaming delays:
  replies x chunks x delay) as the floor;
* cold start: a fresh ``pytest`` process running one scenario, per driver (interpreter, imports,
  app launch, browser launch, the scenario, teardown);
* the whole bundled suite (``scenarios/ --driver all``) with one process and with ``-n 2``, and the
  peak memory (RSS summed over the pytest process and everything it started: workers, Chromium).

Prints markdown tables and the targets of issue 17, and writes bench/results/bench.md and
bench/results/bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import ROOT, CpuMeter, TreeMonitor, measure_side_by_side, reference_app_url
from baselines import Action, client_run, playwright_run

from fixtures import reference_app
from harness.drivers.api import ApiDriver
from harness.drivers.base import Driver
from harness.drivers.browser.driver import BrowserDriver
from harness.run.runner import RunResult, run_scenario
from harness.spec.loader import load_file
from harness.spec.model import Scenario
from harness.target.app import Target

REPLY = reference_app.CHUNKS * reference_app.CHUNK_DELAY  # the app's own time per reply


@dataclass
class Bench:
    file: str
    name: str
    actions: list[Action]
    replies: int

    def scenario(self) -> Scenario:
        (found,) = [s for s in load_file(ROOT / "scenarios" / self.file) if s.name == self.name]
        return found


BENCHES = [
    Bench(
        "submit.chat.yaml",
        "replies count up within a session",
        [("send", "one", "#1 echo: one"), ("send", "two", "#2 echo: two"), ("send", "three", "#3 echo: three")],
        3,
    ),
    Bench(
        "retry.chat.yaml",
        "retry regenerates the last reply",
        [
            ("send", "hello", "#1 echo: hello"),
            ("retry", "#2 echo: hello"),
            ("send", "again", "#3 echo: again"),
            ("retry", "#4 echo: again"),
        ],
        4,
    ),
    Bench(
        "undo.chat.yaml",
        "undo puts the prompt back and drops the reply",
        [("send", "hello", "#1 echo: hello"), ("send", "hi", "#2 echo: hi"), ("undo",)],
        2,
    ),
    Bench(
        "edit.chat.yaml",
        "editing a user message regenerates the reply and drops what came after",
        [("send", "hello", "#1 echo: hello"), ("send", "hi", "#2 echo: hi"), ("edit", 0, "hey", "#3 echo: hey")],
        3,
    ),
    Bench(
        "like.chat.yaml",
        "like and dislike leave the history as it is",
        [("send", "hello", "#1 echo: hello"), ("send", "hi", "#2 echo: hi"), ("like", -1), ("dislike", 1)],
        2,
    ),
    Bench(
        "clear.chat.yaml",
        "the trash icon empties the chat",
        [
            ("send", "hello", "#1 echo: hello"),
            ("send", "hi", "#2 echo: hi"),
            ("clear",),
            ("send", "fresh start", "#3 echo: fresh start"),
        ],
        3,
    ),
]


def harness_run(scenario: Scenario, driver: Driver) -> RunResult:
    try:
        driver.open(scenario)
        return run_scenario(scenario, driver)
    finally:
        driver.close()


class Previous:
    """The browser driver of an earlier commit, in a process of its own (bench/previous.py)."""

    def __init__(self, rev: str, url: str) -> None:
        import tempfile

        self.folder = tempfile.TemporaryDirectory(prefix="chat-harness-previous-")
        tree = Path(self.folder.name)
        archive = subprocess.run(
            ["git", "archive", rev, "harness", "fixtures", "scenarios"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "previous.py"), str(tree), url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and json.loads(self.process.stdout.readline()).get("ready")
        self.walls: list[float] = []
        self.cpu: list[float] = []

    def run(self, bench: Bench) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps([bench.file, bench.name]) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        self.walls.append(answer["wall"])
        self.cpu.append(answer["cpu"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)
        self.folder.cleanup()


def per_scenario(runs: int, previous: str | None = None) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    from harness.drivers.browser.contexts import WarmContexts
    from harness.drivers.browser.driver import prepare_context
    from harness.drivers.browser.launch import launch_with_fallback

    rows = []
    with reference_app_url() as url, sync_playwright() as playwright, CpuMeter() as meter:
        target = Target(url, url)
        browser = launch_with_fallback(playwright.chromium.launch, "chromium", {}, None)
        warm = WarmContexts(browser, {}, prepare_context)
        earlier = Previous(previous, url) if previous else None
        if earlier is not None:
            meter.excluded.add(earlier.process.pid)  # it measures its own browser
        try:
            for bench in BENCHES:
                scenario = bench.scenario()
                # the four reach the same history before anything is timed
                final = [(m.role, m.text) for m in harness_run(scenario, ApiDriver(target, timeout=30)).final_history]
                for other in (client_run(url, bench.actions), playwright_run(browser, url, bench.actions)):
                    assert other == final, (bench.name, other, final)
                meter.booked.clear()
                configs = {
                    "api": lambda: harness_run(scenario, ApiDriver(target, timeout=30)),  # noqa: B023
                    "client": lambda: client_run(url, bench.actions),  # noqa: B023
                    "browser": lambda: harness_run(scenario, BrowserDriver(target, 30, contexts=warm)),  # noqa: B023
                    "browser, fresh context": lambda: harness_run(
                        scenario,  # noqa: B023
                        BrowserDriver(target, 30, new_context=browser.new_context),
                    ),
                    "playwright": lambda: playwright_run(browser, url, bench.actions),  # noqa: B023
                }
                if earlier is not None:
                    earlier.walls.clear()
                    earlier.cpu.clear()
                    configs[f"browser at {previous}"] = lambda: earlier.run(bench)  # noqa: B023
                times = measure_side_by_side(configs, runs, meter)
                cpu = {k: meter.booked.get(k, 0.0) / runs for k in ("browser", "browser, fresh context", "playwright")}
                if earlier is not None:  # its own timings and its browser's CPU, measured in its process
                    times[f"browser at {previous}"] = earlier.walls[-runs:]
                    cpu[f"browser at {previous}"] = statistics.mean(earlier.cpu[-runs:])
                med = {k: statistics.median(v) for k, v in times.items()}
                steps = sum(1 for s in scenario.steps if s.kind != "expect")
                floor = bench.replies * REPLY
                rows.append(
                    {
                        "scenario": bench.name,
                        "file": bench.file,
                        "action_steps": steps,
                        "floor": floor,
                        "times": times,
                        "medians": med,
                        "browser_cpu": cpu,
                        "api_vs_client": med["api"] / med["client"],
                        "api_ms_per_step_over_floor": (med["api"] - floor) / steps * 1000,
                        "browser_vs_playwright": med["browser"] / med["playwright"],
                        "fresh_vs_playwright": med["browser, fresh context"] / med["playwright"],
                        "browser_vs_api": med["browser"] / med["api"],
                    }
                )
                print(
                    f"  {bench.name}: api {med['api']:.3f}s, client {med['client']:.3f}s, "
                    f"browser {med['browser']:.3f}s (fresh context {med['browser, fresh context']:.3f}s), "
                    f"playwright {med['playwright']:.3f}s; browser CPU per run {cpu['browser']:.3f}s "
                    f"(fresh context {cpu['browser, fresh context']:.3f}s, playwright {cpu['playwright']:.3f}s)",
                    flush=True,
                )
        finally:
            if earlier is not None:
                earlier.close()
            warm.close()
            browser.close()
    return rows


def _pytest(args: list[str]) -> tuple[float, float | None, str]:
    """Run pytest in a fresh process: (wall seconds, pytest's own 'in N s', last line).

    A failed run stops the benchmark.
    """
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-300:]
    if done.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    found = re.search(r" in ([\d.]+)s", last)
    return wall, float(found[1]) if found else None, last


def cold_start(runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for driver in ("api", "browser"):
        walls, sessions = [], []
        for _ in range(runs):
            wall, session, _ = _pytest(["scenarios/submit.chat.yaml", "-k", "streamed and echo", "--driver", driver])
            walls.append(wall)
            sessions.append(session)
        out[driver] = {
            "wall": statistics.median(walls),
            "pytest_session": statistics.median(s for s in sessions if s is not None),
            "walls": walls,
        }
        print(f"  cold start {driver}: {out[driver]['wall']:.2f}s", flush=True)
    return out


def whole_suite() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, extra in (("1 process", []), ("-n 2", ["-n", "2"])):
        with TreeMonitor() as memory:
            reference = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "scenarios").glob("*.chat.yaml"))
            wall, _, last = _pytest([*reference, "--driver", "all", *extra])
        # cores busy on average: how much a second worker can still add on this machine
        cpu = sum(memory.cpu.values())
        out[label] = {
            "wall": wall,
            "cpu": cpu,
            "cores_busy": cpu / wall,
            "peak_rss_mb": memory.peak / 2**20,
            "result": last,
        }
        print(
            f"  whole suite, {label}: {wall:.1f}s, {cpu / wall:.2f} cores busy ({last}), "
            f"peak {memory.peak / 2**20:.0f} MB",
            flush=True,
        )
    out["speedup"] = out["1 process"]["wall"] / out["-n 2"]["wall"]
    out["cores"] = os.cpu_count()
    return out


def markdown(rows: list[dict[str, Any]], cold: dict[str, Any], suite: dict[str, Any] | None, runs: int) -> str:
    lines = [
        f"Median of {runs} runs per scenario, each configuration run side by side, in-process reference app, seconds.",
        "",
        "| scenario | steps | app floor | API driver | gradio_client by hand | API / by hand | API ms/step over floor "
        "| browser driver | browser, fresh context | Playwright by hand | browser / by hand | browser / API |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m = r["medians"]
        lines.append(
            f"| {r['scenario']} | {r['action_steps']} | {r['floor']:.2f} | {m['api']:.3f} | {m['client']:.3f} "
            f"| {r['api_vs_client']:.2f} | {r['api_ms_per_step_over_floor']:.0f} | {m['browser']:.3f} "
            f"| {m['browser, fresh context']:.3f} | {m['playwright']:.3f} | {r['browser_vs_playwright']:.2f} "
            f"| {r['browser_vs_api']:.1f} |"
        )
    earlier = [k for k in rows[0]["medians"] if k.startswith("browser at ")]
    if earlier:  # --previous: the earlier driver's time and CPU beside today's
        lines += ["", f"| scenario | browser driver | {' | '.join(earlier)} | today / earlier |", "|---|---|---|---|"]
        for r in rows:
            m = r["medians"]
            lines.append(
                f"| {r['scenario']} | {m['browser']:.3f} | {' | '.join(f'{m[k]:.3f}' for k in earlier)} "
                f"| {m['browser'] / m[earlier[0]]:.2f} |"
            )
    cpu_columns = ["browser", "browser, fresh context", "playwright", *earlier]
    lines += [
        "",
        "| scenario | browser CPU s per run (Chromium + Playwright) | browser, fresh context | Playwright by hand"
        + "".join(f" | {k}" for k in earlier)
        + " |",
        "|---" * (len(cpu_columns) + 1) + "|",
    ]
    for r in rows:
        c = r["browser_cpu"]
        lines.append(f"| {r['scenario']} | " + " | ".join(f"{c[k]:.3f}" for k in cpu_columns) + " |")
    lines += ["", "| cold start (fresh pytest process, one scenario) | wall | pytest's session |", "|---|---|---|"]
    for driver, c in cold.items():
        lines.append(f"| {driver} | {c['wall']:.2f} | {c['pytest_session']:.2f} |")
    if suite:
        lines += [
            "",
            f"| bundled suite, --driver all ({suite['cores']} cores) | wall | CPU s | cores busy "
            "| peak RSS (MB, all processes) | result |",
            "|---|---|---|---|---|---|",
        ]
        for label in ("1 process", "-n 2"):
            s = suite[label]
            lines.append(
                f"| {label} | {s['wall']:.1f} | {s['cpu']:.1f} | {s['cores_busy']:.2f} "
                f"| {s['peak_rss_mb']:.0f} | {s['result']} |"
            )
        lines.append(f"\nspeed-up with 2 workers: {suite['speedup']:.2f}")
    return "\n".join(lines)


def targets(
    rows: list[dict[str, Any]], cold: dict[str, Any], suite: dict[str, Any] | None
) -> list[tuple[str, str, bool]]:
    worst = {
        k: max(r[k] for r in rows) for k in ("api_vs_client", "api_ms_per_step_over_floor", "browser_vs_playwright")
    }
    checks = [
        (
            "API driver <= 1.10 x gradio_client by hand (worst scenario)",
            f"{worst['api_vs_client']:.2f}",
            worst["api_vs_client"] <= 1.10,
        ),
        (
            "API driver <= 50 ms per step over the app's own time (worst)",
            f"{worst['api_ms_per_step_over_floor']:.0f} ms",
            worst["api_ms_per_step_over_floor"] <= 50,
        ),
        (
            "browser driver <= 0.6 x Playwright by hand (worst scenario)",
            f"{worst['browser_vs_playwright']:.2f}",
            worst["browser_vs_playwright"] <= 0.6,
        ),
        ("cold start to first finished scenario, API <= 3 s", f"{cold['api']['wall']:.2f} s", cold["api"]["wall"] <= 3),
        (
            "cold start to first finished scenario, browser <= 5 s",
            f"{cold['browser']['wall']:.2f} s",
            cold["browser"]["wall"] <= 5,
        ),
    ]
    earlier = [k for k in rows[0]["browser_cpu"] if k.startswith("browser at ")]
    if earlier:
        worst_cpu = max(r["browser_cpu"]["browser"] / r["browser_cpu"][earlier[0]] for r in rows)
        checks.append(
            (f"browser CPU per scenario <= 0.5 x the {earlier[0]} driver (worst)", f"{worst_cpu:.2f}", worst_cpu <= 0.5)
        )
    if suite:
        checks.append(
            ("whole suite >= 1.5 x faster with 2 workers", f"{suite['speedup']:.2f}", suite["speedup"] >= 1.5)
        )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per scenario and driver (after one warm-up)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--skip-suite", action="store_true", help="leave out the whole-suite runs (about 2 minutes)")
    parser.add_argument(
        "--previous",
        metavar="REV",
        default=None,
        help="also run the browser driver of this git revision, side by side (its time and its browser's CPU)",
    )
    args = parser.parse_args()
    print("per scenario:", flush=True)
    rows = per_scenario(args.runs, args.previous)
    print("cold start:", flush=True)
    cold = cold_start(args.cold_runs)
    suite = None if args.skip_suite else whole_suite()
    table = markdown(rows, cold, suite, args.runs)
    checks = targets(rows, cold, suite)
    verdicts = "\n".join(f"- {'holds' if ok else 'MISSED'}: {what}: {value}" for what, value, ok in checks)
    text = f"{table}\n\nTargets:\n{verdicts}\n"
    print("\n" + text)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.md").write_text(text)
    (out / "bench.json").write_text(
        json.dumps(
            {"runs": args.runs, "scenarios": rows, "cold_start": cold, "suite": suite, "targets": checks}, indent=2
        )
    )


if __name__ == "__main__":
    main()
