"""The judge client (``harness.judging``), offline: the scripted model on loopback plays the judge,
its embeddings answered with no script and its grades by ``tests/data/judge_script.yaml``. Also how
the client fails (unreachable, HTTP errors, missing model names, answers it cannot read) without
ever showing the API key, and how it passes the model routing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from harness.errors import HarnessError
from harness.judging import (
    API_KEY_VARIABLE,
    SYSTEM_PROMPT,
    Judge,
    JudgeError,
    JudgeSettings,
    Verdict,
    cosine,
    judge_host,
    parse_verdict,
)
from harness.model.protocols import EMBEDDING_DIMENSIONS
from harness.model.routing import decide, route_model_calls
from harness.model.script import parse_script
from harness.model.server import ScriptedModel
from harness.spec.loader import load_model_script
from harness.target.inprocess import free_port
from tests.helpers.servers import ROOT, model_serve

JUDGE_SCRIPT = ROOT / "tests" / "data" / "judge_script.yaml"
SECRET = "sk-test-SECRET123"

WEATHER = "The weather in Paris is sunny today"
WEATHER_AGAIN = "Sunny weather today in Paris"
INVOICE = "Your invoice total comes to forty two euros"


@pytest.fixture(scope="module")
def judge_model() -> Iterator[ScriptedModel]:
    """The scripted model playing the judge script, for the module."""
    server = ScriptedModel().start()
    server.begin(load_model_script(JUDGE_SCRIPT))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def judge(judge_model: ScriptedModel) -> Iterator[Judge]:
    with Judge(JudgeSettings(f"{judge_model.base_url}/v1", "judge-model", "embedder")) as client:
        yield client


def _calls(model: ScriptedModel) -> int:
    assert model.run is not None
    return len(model.run.calls)


# -- similarity: embeddings ---------------------------------------------------------------------------


def test_texts_sharing_words_are_similar_and_unrelated_texts_are_not(judge: Judge, judge_model: ScriptedModel) -> None:
    before = _calls(judge_model)
    related = judge.similarity(WEATHER, WEATHER_AGAIN)
    unrelated = judge.similarity(WEATHER, INVOICE)
    assert related > 0.8 and unrelated < 0.2
    assert judge.similarity(WEATHER, WEATHER) == pytest.approx(1.0)
    # pinned: red, blue and green fall in three buckets, so the cosine is exactly 1/2
    assert judge.similarity("red blue", "Red, green!") == pytest.approx(0.5)
    # embeddings are not model calls: the run's calls are only the app's
    assert _calls(judge_model) == before


def test_embeddings_are_the_same_in_another_process(
    judge: Judge, judge_model: ScriptedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chat-harness model serve`` answers the same vectors: no per-process salt (``hash()``)."""
    monkeypatch.setenv("PYTHONHASHSEED", "12345")  # the served process hashes str differently from this one
    body = {"model": "embedder", "input": [WEATHER, INVOICE]}
    here = httpx.post(f"{judge_model.base_url}/v1/embeddings", json=body, timeout=10).json()
    with model_serve(JUDGE_SCRIPT) as (base, process):
        there = httpx.post(f"{base}/v1/embeddings", json=body, timeout=10).json()
        with Judge(JudgeSettings(f"{base}/v1", "judge-model", "embedder")) as other:
            assert other.similarity(WEATHER, WEATHER_AGAIN) == judge.similarity(WEATHER, WEATHER_AGAIN)
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert there["data"] == here["data"] and len(here["data"][0]["embedding"]) == EMBEDDING_DIMENSIONS
    assert "model call" not in out  # the served script saw no call


def test_embeddings_need_no_run_and_take_nothing_from_the_script() -> None:
    model = ScriptedModel().start()
    try:
        # no scenario runs: answered all the same
        answer = httpx.post(f"{model.base_url}/v1/embeddings", json={"model": "e", "input": "hello world"}, timeout=10)
        assert answer.status_code == 200
        body = answer.json()
        assert (body["object"], body["model"], body["usage"]) == ("list", "e", {"prompt_tokens": 2, "total_tokens": 2})
        assert [(d["object"], d["index"]) for d in body["data"]] == [("embedding", 0)]
        # a run's queue is left for the app
        run = model.begin(parse_script(["the only reply"]))
        assert httpx.post(f"{model.base_url}/v1/embeddings", json={"input": ["a", "b"]}, timeout=10).status_code == 200
        chat = httpx.post(
            f"{model.base_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]}, timeout=10
        )
        assert chat.json()["choices"][0]["message"]["content"] == "the only reply" and len(run.calls) == 1
        # what is not an embeddings request is refused, and other routes are still not answered
        bad = httpx.post(f"{model.base_url}/v1/embeddings", json={"input": [1, 2, 3]}, timeout=10)
        assert bad.status_code == 400 and "a string or a non-empty list of strings" in bad.json()["error"]["message"]
        assert httpx.post(f"{model.base_url}/v1/completions", json={"prompt": "x"}, timeout=10).status_code == 404
        assert httpx.get(f"{model.base_url}/v1/embeddings", timeout=10).status_code == 404
    finally:
        model.stop()


def test_the_openai_sdk_reads_the_embeddings_as_base64_and_as_floats(judge_model: ScriptedModel) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{judge_model.base_url}/v1", api_key="unused", max_retries=0)
    texts = [WEATHER, INVOICE]
    packed = client.embeddings.create(model="e", input=texts)  # the SDK asks for base64 by default
    floats = client.embeddings.create(model="e", input=texts, encoding_format="float")
    for unpacked, plain in zip(packed.data, floats.data, strict=True):
        assert unpacked.embedding == pytest.approx(plain.embedding, abs=1e-6) and any(plain.embedding)
    assert cosine(floats.data[0].embedding, floats.data[1].embedding) == pytest.approx(0.0)
    shorter = client.embeddings.create(model="e", input="x", dimensions=8, encoding_format="float")
    assert len(shorter.data[0].embedding) == 8


def test_similarity_is_remembered_per_pair() -> None:
    model = ScriptedModel().start()
    judge = Judge(JudgeSettings(f"{model.base_url}/v1", None, "embedder"))
    try:
        first = judge.similarity(WEATHER, WEATHER_AGAIN)
        model.stop()
        assert judge.similarity(WEATHER, WEATHER_AGAIN) == first  # no second call
        with pytest.raises(JudgeError, match=f"judge endpoint at {model.base_url}/v1"):
            judge.similarity(WEATHER_AGAIN, WEATHER)  # another pair: asked, and the server is gone
    finally:
        judge.close()
        model.stop()


def test_empty_texts_are_compared_without_a_call() -> None:
    # no server at all: an empty text needs none (embeddings APIs refuse empty inputs)
    with Judge(JudgeSettings(f"http://127.0.0.1:{free_port()}/v1", None, "embedder")) as judge:
        assert judge.similarity("", "anything") == 0.0 and judge.similarity(" ", "") == 1.0


def test_cosine_of_a_zero_vector_is_zero() -> None:
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert cosine([1.0, 1.0], [2.0, 2.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="different lengths"):
        cosine([1.0], [1.0, 2.0])


# -- grade: a chat model and a rubric ---------------------------------------------------------------


def test_a_grade_is_read_from_the_answer_and_the_request_is_the_grading_prompt(
    judge: Judge, judge_model: ScriptedModel
) -> None:
    verdict = judge.grade("Hello! How can I help you today?", "greets the user politely")
    assert verdict == Verdict(0.9, "The reply greets the user politely.")
    assert judge_model.run is not None
    sent = judge_model.run.calls[-1].request
    assert (sent["model"], sent["temperature"], sent["stream"]) == ("judge-model", 0, False)
    system, user = sent["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "ONLY with a JSON object" in SYSTEM_PROMPT and '{"score": <number from 0 to 1>' in SYSTEM_PROMPT
    assert user["role"] == "user" and "greets the user politely" in user["content"]
    assert "<reply>\nHello! How can I help you today?\n</reply>" in user["content"]


def test_a_grade_wrapped_in_prose_or_a_code_fence_is_found(judge: Judge) -> None:
    low = judge.grade("Thanks for your order.", "mentions the refund policy")
    assert low == Verdict(0.1, "The reply never mentions the refund policy.")
    fenced = judge.grade("Yes.", "answers in the fenced style")
    assert fenced == Verdict(1.0, "The reply is exactly what the rubric asks for.")


def test_an_answer_without_json_is_refused_quoting_it(judge: Judge) -> None:
    with pytest.raises(JudgeError) as caught:
        judge.grade("Yes.", "is written as prose")
    message = str(caught.value)
    assert "the judge model 'judge-model' at http://127.0.0.1:" in message
    assert 'answered no JSON object with a "score"' in message
    assert "'The reply looks fine to me, I would give it a good mark.'" in message


def test_a_score_on_another_scale_is_refused_not_guessed(judge: Judge) -> None:
    with pytest.raises(JudgeError) as caught:
        judge.grade("Yes.", "rated out of ten")
    assert "gave the score 8, not a number from 0 to 1" in str(caught.value)
    assert '\'{"score": 8, "reason": "A good reply."}\'' in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ('I {think} so. {"score": 0.5, "reason": "Half."}', Verdict(0.5, "Half.")),
        ('{"grade": {"score": 0, "reason": "None of it."}}', Verdict(0.0, "None of it.")),
        ('{"score": "0.75"}', Verdict(0.75, "")),
        ('{"score": 1.0, "reason": ["a", "b"]}', Verdict(1.0, '["a", "b"]')),
    ],
)
def test_a_verdict_is_the_first_json_object_with_a_score(answer: str, verdict: Verdict) -> None:
    assert parse_verdict(answer) == verdict


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ('{"score": 80}', "gave the score 80, not a number from 0 to 1"),
        ('{"score": -0.1}', "gave the score -0.1, not a number from 0 to 1"),
        ('{"score": true}', "gave the score true, not a number from 0 to 1"),
        ('{"score": NaN}', "gave the score NaN, not a number from 0 to 1"),
        ('{"score": "high"}', 'gave the score "high", not a number from 0 to 1'),
        ('{"reason": "no score"}', 'answered no JSON object with a "score"'),
        ('{"score": 0.5', 'answered no JSON object with a "score"'),
        ("", 'answered no JSON object with a "score"'),
    ],
)
def test_an_answer_that_is_not_a_verdict_is_refused(answer: str, problem: str) -> None:
    with pytest.raises(JudgeError, match="the judge " + problem.replace("(", r"\(")):
        parse_verdict(answer)


def test_a_long_answer_is_quoted_shortened_on_one_line() -> None:
    with pytest.raises(JudgeError) as caught:
        parse_verdict("word\n" * 400)
    message = str(caught.value)
    quoted = message[message.index("'") :]
    assert "\n" not in message and quoted.startswith("'word word") and quoted.endswith("…'")
    assert len(quoted) == 300 + 2  # the quotes


# -- failures -----------------------------------------------------------------------------------------


def test_an_http_error_names_its_status_and_message_and_the_next_call_is_made(judge: Judge) -> None:
    with pytest.raises(JudgeError) as caught:
        judge.grade("Yes.", "when the model is overloaded")
    assert str(caught.value) == (
        f"the judge endpoint at {judge.url} answered HTTP 503 to chat/completions: "
        "The judge model is overloaded; try again later."
    )
    assert judge.grade("Hello!", "greets politely").score == 0.9  # an HTTP error is not unreachable


def test_an_unreachable_endpoint_fails_at_once_and_is_not_tried_again() -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    with Judge(JudgeSettings(url, "m", "e")) as judge:
        started = time.perf_counter()
        with pytest.raises(JudgeError) as first:
            judge.similarity(WEATHER, INVOICE)
        assert time.perf_counter() - started < 5.0
        assert str(first.value).startswith(f"the judge endpoint at {url} cannot be reached: ")
        assert str(first.value).endswith("; check --chat-judge-url")
        late = ScriptedModel().start(port)  # the endpoint comes up: this judge does not ask again
        try:
            with pytest.raises(JudgeError) as second:
                judge.similarity(WEATHER_AGAIN, INVOICE)
            assert str(second.value) == str(first.value)
            with Judge(JudgeSettings(url, "m", "e")) as fresh:  # it is there: a new judge reaches it
                assert fresh.similarity(WEATHER_AGAIN, INVOICE) < 0.2
        finally:
            late.stop()


def test_missing_model_names_are_asked_for_before_any_call(judge_model: ScriptedModel) -> None:
    before = _calls(judge_model)
    with Judge(JudgeSettings(f"{judge_model.base_url}/v1", None, "")) as judge:
        with pytest.raises(JudgeError) as embedding:
            judge.similarity(WEATHER, INVOICE)
        with pytest.raises(JudgeError) as chat:
            judge.grade("Hello!", "greets politely")
    assert str(embedding.value) == "similar needs an embedding model: give --chat-judge-embedding-model"
    assert str(chat.value) == "judge needs a chat model: give --chat-judge-model"
    assert isinstance(chat.value, HarnessError) and _calls(judge_model) == before


class _Refusing(BaseHTTPRequestHandler):
    """An endpoint that refuses every request with 401, echoing the credentials it got (as a careless
    server might); it keeps the Authorization header of each request on the server."""

    server: Any

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.seen.append(self.headers.get("authorization"))
        body = json.dumps(
            {"error": {"message": f"Incorrect API key provided: {self.headers.get('authorization')}", "code": 401}}
        ).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def refusing() -> Iterator[tuple[str, list[str | None]]]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_refused_key_names_the_variable_and_never_shows_the_key(
    refusing: tuple[str, list[str | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = refusing
    monkeypatch.setenv(API_KEY_VARIABLE, SECRET)
    settings = JudgeSettings.from_environment(url, "m", "e")
    assert settings.api_key == SECRET and SECRET not in repr(settings)
    with Judge(settings) as judge:
        with pytest.raises(JudgeError) as caught:
            judge.grade("Hello!", "greets politely")
        assert SECRET not in repr(judge)
    message = str(caught.value)
    assert seen == [f"Bearer {SECRET}"]  # the key was sent
    assert message == (
        f"the judge endpoint at {url} answered HTTP 401 to chat/completions: Incorrect API key provided: Bearer ***; "
        f"check the key in {API_KEY_VARIABLE}"
    )
    assert SECRET not in message and SECRET not in repr(caught.value)


def test_without_a_key_no_authorization_is_sent_and_the_message_says_to_set_one(
    refusing: tuple[str, list[str | None]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = refusing
    monkeypatch.setenv(API_KEY_VARIABLE, "")  # empty: no key
    settings = JudgeSettings.from_environment(url, None, "e")
    assert settings.api_key is None
    with Judge(settings) as judge, pytest.raises(JudgeError) as caught:
        judge.similarity(WEATHER, INVOICE)
    assert seen == [None]
    assert str(caught.value) == (
        f"the judge endpoint at {url} answered HTTP 401 to embeddings: Incorrect API key provided: None; it wants "
        f"an API key: set {API_KEY_VARIABLE}"
    )


# -- the model routing --------------------------------------------------------------------------------


def test_the_routing_lets_the_judge_through_to_its_own_endpoint(judge: Judge, judge_model: ScriptedModel) -> None:
    """With the scripted model of a session on, a grading call still reaches the judge, and takes
    nothing from the session's script (a plain request to the judge's chat route would)."""
    session = ScriptedModel().start()
    try:
        run = session.begin(parse_script(["the app's reply"]))
        with route_model_calls(session.port):
            assert judge.grade("Hello!", "greets politely").score == 0.9
            assert judge.similarity(WEATHER, INVOICE) < 0.2
            assert run.calls == []
            plain = httpx.post(
                f"{judge_model.base_url}/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "greets politely"}]},
                timeout=10,
            )
            assert plain.json()["choices"][0]["message"]["content"] == "the app's reply"  # routed to the session's
    finally:
        session.stop()


def test_the_judge_host_is_what_the_routing_must_allow() -> None:
    assert judge_host("http://localhost:11434/v1") is None
    assert judge_host("http://127.0.0.1:8000/v1") is None
    host = judge_host("https://Router.HuggingFace.co/v1")
    assert host == "router.huggingface.co"
    assert decide("https://router.huggingface.co/v1/embeddings", 1).action == "block"
    assert decide("https://router.huggingface.co/v1/embeddings", 1, allowed_hosts={host}).action == "pass"
