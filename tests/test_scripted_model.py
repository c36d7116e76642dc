"""The scripted model: its wire protocols as the real client libraries read them, the routing of an
in-process app's calls to it (and nothing else leaving the machine), scripts, cassettes, and the
``model serve`` command. The apps on hosted models, end to end, are in ``test_model_apps.py``."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.errors import ScenarioError
from harness.model.cassette import Cassette, Exchange, cassette_path
from harness.model.routing import decide, route_model_calls
from harness.model.script import Script, ScriptState, parse_script, split_chunks
from harness.model.server import ModelRun, ScriptedModel
from harness.spec.loader import load_text
from tests.helpers.servers import ROOT, model_serve, serve_model_command

SCRIPT = {
    "rules": [{"when": {"contains": "weather"}, "reply": "Sunny all day."}],
    "replies": [
        "Hello there, friend.",
        {"error": 429, "message": "Rate limit reached"},
        {"text": "one two three four", "cut_after": 2},
        {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
    ],
}


@pytest.fixture(scope="module")
def model() -> Iterator[ScriptedModel]:
    server = ScriptedModel().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def routed(model: ScriptedModel) -> Iterator[ScriptedModel]:
    """This process's model calls go to the scripted model for the test (and nothing else leaves)."""
    with route_model_calls(model.port):
        yield model


def _run(model: ScriptedModel, spec: Any = SCRIPT) -> ModelRun:
    run = model.begin(parse_script(spec))
    run.begin_step(1)
    return run


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# -- the protocols, as the client libraries read them ------------------------------------------


def test_the_openai_sdk_streams_a_scripted_reply_with_usage_and_reads_tool_calls(routed: ScriptedModel) -> None:
    from openai import OpenAI

    run = _run(routed)
    client = OpenAI(max_retries=0)  # the default host: api.openai.com, routed
    stream = client.chat.completions.create(
        messages=_user("hi"), model="gpt-4o-mini", stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there, friend."
    assert [c.choices[0].delta.content for c in chunks if c.choices][1:4] == ["Hello ", "there, ", "friend."]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3
    run.use(parse_script({"rules": SCRIPT["rules"], "replies": SCRIPT["replies"][3:]}))  # a model step
    reply = client.chat.completions.create(messages=_user("weather in Paris?"), model="gpt-4o-mini")
    assert reply.choices[0].message.content == "Sunny all day."  # a rule wins over the queue
    called = client.chat.completions.create(messages=_user("call a tool"), model="gpt-4o-mini")
    (tool,) = called.choices[0].message.tool_calls or []
    assert (tool.function.name, json.loads(tool.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert called.choices[0].finish_reason == "tool_calls"
    assert [c.route for c in run.calls] == ["https://api.openai.com/v1/chat/completions"] * 3
    assert run.calls[0].stream and run.calls[0].request["stream_options"] == {"include_usage": True}


def test_the_openai_sdk_reads_streamed_tool_calls(routed: ScriptedModel) -> None:
    from openai import OpenAI

    _run(routed, [{"tool_calls": [{"name": "lookup", "arguments": '{"q": "x"}'}]}])
    chunks = list(OpenAI(max_retries=0).chat.completions.create(messages=_user("go"), model="m", stream=True))
    calls = [t for c in chunks if c.choices for t in c.choices[0].delta.tool_calls or []]
    assert [(t.function.name, t.function.arguments) for t in calls] == [("lookup", '{"q": "x"}')]


def test_huggingface_inference_client_streams_from_the_script_in_offline_mode(routed: ScriptedModel) -> None:
    """The root conftest sets HF_HUB_OFFLINE, which makes huggingface_hub refuse every request: the
    routing lifts it, as it keeps every request on this machine itself."""
    from huggingface_hub import InferenceClient

    run = _run(routed, {"rules": [{"when": {"regex": "."}, "reply": "Hi from the router."}]})
    client = InferenceClient()
    parts = [
        m.choices[0].delta.content or ""
        for m in client.chat_completion(
            [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}],
            model="openai/gpt-oss-20b",
            stream=True,
            max_tokens=5,
        )
        if m.choices
    ]
    assert "".join(parts) == "Hi from the router."
    whole = client.chat_completion(_user("again"), model="openai/gpt-oss-20b")
    assert whole.choices[0].message.content == "Hi from the router."
    assert run.calls[0].route == "https://router.huggingface.co/v1/chat/completions"
    assert run.calls[0].messages[0].text == "Hello" and run.calls[0].request["max_tokens"] == 5


def test_ollama_chat_answers_whole_and_as_lines(routed: ScriptedModel) -> None:
    _run(routed, ["Plain answer.", "Streamed answer here."])
    whole = httpx.post(
        "http://localhost:11434/api/chat", json={"model": "llama3.2", "messages": _user("a"), "stream": False}
    )
    assert whole.json()["message"] == {"role": "assistant", "content": "Plain answer."} and whole.json()["done"]
    with httpx.stream(
        "POST", "http://127.0.0.1:11434/api/chat", json={"model": "llama3.2", "messages": _user("b")}
    ) as r:
        lines = [json.loads(line) for line in r.iter_lines() if line]
    assert "".join(line["message"]["content"] for line in lines) == "Streamed answer here."
    assert [line["done"] for line in lines] == [False, False, False, True]


# -- failures the app must handle ----------------------------------------------------------------


def test_a_scripted_rate_limit_reaches_the_app_at_once_without_sdk_retries(routed: ScriptedModel) -> None:
    from openai import OpenAI, RateLimitError

    run = _run(routed, [{"error": 429, "message": "Rate limit reached"}, "never taken"])
    started = time.perf_counter()
    with pytest.raises(RateLimitError, match="Rate limit reached"):
        OpenAI().chat.completions.create(messages=_user("hi"), model="m")  # default: 2 retries with back-off
    assert time.perf_counter() - started < 1.0
    assert len(run.calls) == 1 and run.calls[0].answer == "HTTP 429"


def test_a_stream_cut_halfway_raises_in_the_client_after_the_first_chunks(routed: ScriptedModel) -> None:
    from openai import APIError, OpenAI

    _run(routed, [{"text": "one two three four", "cut_after": 2}])
    seen: list[str] = []
    with pytest.raises(APIError):
        for chunk in OpenAI(max_retries=0).chat.completions.create(messages=_user("hi"), model="m", stream=True):
            seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == "one two "


def test_a_hang_holds_the_call_until_the_run_ends(routed: ScriptedModel) -> None:
    from openai import APIStatusError, OpenAI

    run = _run(routed, [{"hang": True}])
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            OpenAI(max_retries=0).chat.completions.create(messages=_user("hi"), model="m")
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 5
    while not run.calls and time.monotonic() < deadline:  # the call arrived and is being held
        time.sleep(0.01)
    assert run.calls and run.calls[0].answer == "no answer (hang)" and worker.is_alive()
    routed.end(run)
    worker.join(5)
    assert not worker.is_alive() and isinstance(outcome[0], APIStatusError) and outcome[0].status_code == 504


def test_an_uncovered_call_is_refused_at_once_naming_it(routed: ScriptedModel) -> None:
    from openai import BadRequestError, OpenAI

    run = _run(routed, {"rules": [{"when": {"contains": "weather"}, "reply": "Sunny."}], "replies": ["only one"]})
    client = OpenAI()
    client.chat.completions.create(messages=_user("first"), model="m")
    started = time.perf_counter()
    with pytest.raises(BadRequestError) as caught:
        client.chat.completions.create(messages=_user("second question"), model="gpt-4o-mini")
    assert time.perf_counter() - started < 1.0 and len(run.calls) == 2  # no retry
    assert "does not cover model call 2" in str(caught.value) and "'second question'" in str(caught.value)
    (refused,) = run.unreported_problems()
    assert refused.problem == (
        "no rule or queued reply covers it (the script has a rule {contains: 'weather'}; 1 queued reply, all used)"
    )


def test_a_call_while_no_scenario_runs_is_refused(model: ScriptedModel) -> None:
    model.begin()
    model.end(model.run)  # type: ignore[arg-type]
    answer = httpx.post(f"{model.base_url}/v1/chat/completions", json={"messages": _user("hi")})
    assert answer.status_code == 400 and "while no scenario runs" in answer.text


# -- routing: model calls in, nothing else out ------------------------------------------------------


def test_routing_decides_by_route_and_host() -> None:
    assert decide("https://api.openai.com/v1/chat/completions", 5000).action == "model"
    assert decide("https://api.groq.com/openai/v1/chat/completions", 5000).upstream == "https://api.groq.com"
    assert decide("http://localhost:11434/api/chat", 5000).url == "http://127.0.0.1:5000/api/chat"
    assert decide("http://127.0.0.1:5000/v1/chat/completions", 5000).action == "pass"  # the model itself
    assert decide("http://127.0.0.1:7860/gradio_api/queue/join", 5000).action == "pass"  # the app
    blocked = decide("https://huggingface.co/api/models/x", 5000)
    assert blocked.action == "block" and "not a model route" in blocked.reason
    assert decide("https://huggingface.co/api/models/x", 5000, outside_allowed=True).action == "pass"
    # the session's remote targets (and the Hub resolving a Space) are reached by the harness itself
    assert decide("https://acme-chat.hf.space/gradio_api/info", 5000, allowed_hosts={"acme-chat.hf.space"}).action == (
        "pass"
    )


def test_the_session_lets_the_harness_reach_its_remote_targets() -> None:
    from harness.pytest_plugin.scripted_model import ModelService

    service = ModelService("script")
    service.allow("https://Acme-Chat.hf.space/")
    service.allow("chat.example.com:8443")
    assert service.allowed_hosts == {"acme-chat.hf.space", "chat.example.com"}
    assert decide("https://chat.example.com:8443/config", 1, allowed_hosts=service.allowed_hosts).action == "pass"


def test_nothing_but_model_calls_leaves_the_machine(routed: ScriptedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client library refuses a request to the outside before it opens a connection."""
    import httpx2
    import requests

    attempts: list[Any] = []
    connect = socket.socket.connect

    def watched(sock: socket.socket, address: Any) -> Any:
        attempts.append(address)
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", watched)
    url = "https://example.com/data.json"
    with pytest.raises(requests.exceptions.ConnectionError, match="chat-harness refused a request to"):
        requests.get(url, timeout=5)
    with pytest.raises(httpx.ConnectError, match="chat-harness refused"):
        httpx.get(url)
    with pytest.raises(httpx2.ConnectError, match="chat-harness refused"):
        httpx2.get(url)

    async def get_async() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(url)

    import asyncio

    raised: list[BaseException] = []

    def in_a_thread() -> None:  # a thread of its own: this one may hold pytest-playwright's event loop
        try:
            asyncio.run(get_async())
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=in_a_thread)
    worker.start()
    worker.join(10)
    assert isinstance(raised[0], httpx.ConnectError) and "chat-harness refused" in str(raised[0])
    assert all(str(address[0]).startswith("127.") for address in attempts if isinstance(address, tuple))
    assert requests.get(f"{routed.base_url}/anything", timeout=5).status_code == 404  # loopback passes


def test_a_proxy_in_the_environment_never_carries_a_model_call(
    model: ScriptedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx and requests pick a proxy by the request's first URL: a routed call must not go through it."""
    import requests
    from openai import OpenAI

    proxy = socket.socket()
    proxy.bind(("127.0.0.1", 0))
    proxy.listen()
    proxy.settimeout(0.2)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.getsockname()[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    _run(model, {"rules": [{"when": {"regex": "."}, "reply": "direct"}]})
    try:
        with route_model_calls(model.port):
            reply = OpenAI(max_retries=0, timeout=5).chat.completions.create(messages=_user("hi"), model="m")
            url = "https://api.openai.com/v1/chat/completions"
            posted = requests.post(url, json={"messages": _user("x")}, timeout=5)
            sent = httpx.Client(timeout=5).post(url, json={"messages": _user("x")})
        assert reply.choices[0].message.content == "direct"
        assert posted.json()["choices"][0]["message"]["content"] == sent.json()["choices"][0]["message"]["content"]
        with pytest.raises(TimeoutError):
            proxy.accept()  # nobody came to the proxy
    finally:
        proxy.close()


def test_clients_the_routing_does_not_patch_are_refused_at_the_socket(routed: ScriptedModel) -> None:
    import urllib.error
    import urllib.request

    started = time.perf_counter()
    with pytest.raises(urllib.error.URLError, match=r"chat-harness refused a connection to 192\.0\.2\.1:80"):
        urllib.request.urlopen("http://192.0.2.1/", timeout=5)  # TEST-NET-1: nothing answers there anyway
    assert time.perf_counter() - started < 1.0
    with socket.create_connection(("127.0.0.1", routed.port), timeout=5):  # loopback still connects
        pass


def test_only_real_loopback_names_count_as_loopback() -> None:
    assert decide("http://127.foo.example/x", 5000).action == "block"
    assert decide("http://127.0.0.5:8000/x", 5000).action == "pass"
    assert decide("http://[::1]:8000/x", 5000).action == "pass"
    # a model route is the script's even on a host the harness may reach for the session
    assert decide("https://api.example.com/v1/chat/completions", 5000, allowed_hosts={"api.example.com"}).action == (
        "model"
    )


def test_tool_call_arguments_must_be_a_mapping() -> None:
    text = "name: s\nmodel: [{tool_calls: [{name: f, arguments: 'not json'}]}]\nsteps:\n  - send: hi\n"
    with pytest.raises(ScenarioError, match="tool_calls arguments must be a mapping or the JSON text of one"):
        load_text(text, "s.chat.yaml")


def test_a_scenario_that_only_checks_the_model_replays_its_cassette(tmp_path: Path, model: ScriptedModel) -> None:
    from harness.pytest_plugin.scripted_model import ModelService

    (scenario,) = load_text(
        "name: checks\nsteps:\n  - send: hi\n  - expect: {model: {calls: 1}}\n", str(tmp_path / "c.chat.yaml")
    )
    assert scenario.scripts_model and not scenario.has_script
    path = cassette_path(scenario.location.path, scenario.name)
    Cassette(path).save([])
    service = ModelService("script")
    service.model = model
    assert service.begin(scenario).run.mode == "replay"
    service.model = None


def test_a_model_call_the_script_refused_outside_any_step_fails_the_next_step(model: ScriptedModel) -> None:
    """A call made while the session opened (the app's load event) is not lost: the next step fails on it."""
    from harness.errors import ModelCallUnanswered
    from harness.run.runner import run_scenario
    from tests.helpers.scripted import ScriptedDriver

    (scenario,) = load_text("name: s\nmodel: [Hello.]\nsteps:\n  - send: hi\n", "s.chat.yaml")
    run = model.begin(scenario.model)
    run.state.position = 1  # the queue is used up: the call below is not covered
    httpx.post(f"{model.base_url}/v1/chat/completions", json={"messages": _user("on load")})
    driver = ScriptedDriver()
    driver.open(scenario)
    with pytest.raises(ModelCallUnanswered) as caught:
        run_scenario(scenario, driver, model=run)
    assert "during step 1 (send) (it came between steps, or while the session opened)" in str(caught.value)
    assert "last user message 'on load'" in caught.value.detail
    assert run.unreported_problems() == []  # told once


def test_the_routing_is_undone_afterwards(model: ScriptedModel) -> None:
    original = httpx.HTTPTransport.handle_request
    with route_model_calls(model.port):
        assert httpx.HTTPTransport.handle_request is not original
    assert httpx.HTTPTransport.handle_request is original


# -- scripts -----------------------------------------------------------------------------------------


def test_chunks_are_words_or_fixed_sizes() -> None:
    assert split_chunks("a bb  c", None) == ["a ", "bb ", " ", "c"]
    assert "".join(split_chunks("a bb  c", None)) == "a bb  c"
    assert split_chunks("abcdefg", 3) == ["abc", "def", "g"]
    assert split_chunks("", None) == []


def test_rules_come_before_the_queue_and_are_never_used_up() -> None:
    state = ScriptState(parse_script(SCRIPT))
    assert state.answer("what is the weather?").text == "Sunny all day."  # type: ignore[union-attr]
    assert state.answer("hi").text == "Hello there, friend."  # type: ignore[union-attr]
    assert state.answer("weather again").text == "Sunny all day."  # type: ignore[union-attr]
    assert state.answer("x").error == 429  # type: ignore[union-attr]
    assert state.answer("x") is not None and state.answer("x") is not None and state.answer("x") is None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "model: {replies: [{error: 200}]}",
            ":3: scenario.model.replies[0].error: must be at least 400, got the number 200",
        ),
        ("model: {rules: [{when: {regex: '('}, reply: x}]}", ":3: model rule when: invalid regular expression"),
        ("model: {replies: [{text: a, chunk_delay: .nan}]}", ":3: model: chunk_delay must be a number of seconds"),
        ("model: {chunk_size: 0, replies: [a]}", ":3: scenario.model.chunk_size: must be at least 1, got the number 0"),
        ("model: {reply: x}", ":3: scenario.model: unknown key 'reply' (did you mean 'replies'?)"),
    ],
)
def test_a_bad_model_block_is_one_error_with_its_line(block: str, message: str) -> None:
    text = f"name: s\napp: fixtures.openai_chat_app:demo\n{block}\nsteps:\n  - send: hi\n"
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "s.chat.yaml")
    assert message in str(caught.value)


def test_a_model_step_and_expectation_load() -> None:
    text = (
        "name: s\nsteps:\n  - model: [a, b]\n  - send: hi\n"
        "  - expect: {model: {calls: 1, last: {messages: {last: [{role: user, content: hi}]}, temperature: 0.5}}}\n"
    )
    (scenario,) = load_text(text, "s.chat.yaml")
    assert scenario.scripts_model and scenario.model is None
    assert [r.text for r in scenario.steps[0].script.replies] == ["a", "b"]  # type: ignore[attr-defined]
    model = scenario.steps[2].expectation.model  # type: ignore[attr-defined]
    assert model.calls == 1 and model.messages_last and set(model.fields) == {"temperature"}


# -- cassettes ----------------------------------------------------------------------------------------


def test_a_cassette_replays_its_exchanges_in_order_and_shows_a_changed_request(tmp_path: Path) -> None:
    path = cassette_path(tmp_path / "chat.chat.yaml", "a scenario: with/odd chars")
    assert path == tmp_path / "cassettes" / "chat.chat" / "a-scenario-with-odd-chars.json"
    secret = "sk-secret-0123456789abcdef"
    request = {"model": "m", "messages": _user(f"my key is {secret}"), "stream": True}
    body = 'data: {"a": 1}\n\ndata: [DONE]\n\n'
    cassette = Cassette(path)
    cassette.record(Exchange.of(0, "openai", "/v1/chat/completions", request, 200, "text/event-stream", body.encode()))
    cassette.save(secrets=[secret])
    assert secret not in path.read_text() and "my key is ***" in path.read_text()  # a secret a body holds is masked
    exchange, _ = Cassette(
        path, [Exchange.of(0, "openai", "/x", request, 200, "text/event-stream", body.encode())]
    ).replay(0, "openai", request)
    assert exchange is not None and exchange.parts() == ['data: {"a": 1}\n\n', "data: [DONE]\n\n"]
    loaded = Cassette.load(path)
    missing, why = loaded.replay(0, "openai", {**request, "messages": _user("bye")})
    assert missing is None and "differs from the request recorded" in why
    assert '-      "content": "my key is ***"' in why and '+      "content": "bye"' in why
    assert loaded.replay(1, "openai", request)[1].startswith("is not in the cassette")


# -- chat-harness model serve -----------------------------------------------------------------------


def test_model_serve_prints_the_variables_and_a_line_per_call(tmp_path: Path) -> None:
    script = tmp_path / "stub.yaml"
    script.write_text("rules:\n  - when: {regex: .}\n    reply: Hello from the stub.\n")
    with model_serve(script) as (base, process):
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        assert f"  export OPENAI_BASE_URL={base}/v1\n" in lines and f"  export OLLAMA_HOST={base}\n" in lines
        answer = httpx.post(f"{base}/v1/chat/completions", json={"messages": _user("hi")}, timeout=5)
        assert answer.json()["choices"][0]["message"]["content"] == "Hello from the stub."
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "model call 1 (" in out and "last user message 'hi') -> 'Hello from the stub.'" in out


def test_model_serve_refuses_a_bad_script(tmp_path: Path) -> None:
    script = tmp_path / "bad.yaml"
    script.write_text("replies: [{error: 99}]\n")
    done = subprocess.run(
        serve_model_command(script),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (
        done.returncode == 2
        and f"{script}:1: model.replies[0].error: must be at least 400, got the number 99" in done.stderr
    )


def test_script_dataclasses_compare_by_value() -> None:
    assert parse_script(["a"]) == Script(replies=parse_script(["a"]).replies)
