// Injected into every page the browser driver opens (Playwright add_init_script), before Gradio loads.
//
// 1. It watches the page's own calls to the app (fetch of queue/join, run/predict and the
//    queue/data event stream) and keeps a copy of every message, so the driver knows exactly what
//    the app sent (the raw chat value, every streamed update) and which calls are still running.
//    The page receives the very same bytes: the stream is tee'd, not altered.
// 2. It answers the driver's questions about the page: is the app idle, why not, what does the
//    chatbot show.
(() => {
  if (window.__chatHarness) return;
  const now = () => performance.now();
  const h = {
    log: [],          // what the app sent, in arrival order; drained by take()
    started: 0,       // calls made so far (a counter: "did my click start anything?")
    startedFn: {},    // calls made so far per handler (fn_index): "did the next step of the chain start?"
    updates: 0,       // streamed updates received so far (process_generating messages)
    uploads: 0,       // file uploads finished so far
    streams: 0,       // queue/data event streams the page has open
    streamEndedAt: -1, // when the last one ended
    pending: new Map(), // running calls: key -> {what, since}
    startAt: 0,       // when the last call started
    errorAt: -1,      // when the app last answered with an error
  };
  window.__chatHarness = h;
  // Waiters (see until()) are told of every change: a call starting or ending, a streamed message,
  // the page's DOM changing. Nothing polls on animation frames.
  const waiters = new Set();
  const changed = () => { for (const wake of waiters) wake(); };
  const record = (entry) => { entry.t = now(); h.log.push(entry); changed(); };
  const urlOf = (input) => (typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
  const parse = (text) => { try { return JSON.parse(text); } catch (e) { return null; } };
  const original = window.fetch.bind(window);
  const joined = new Set(); // event ids the page has read from its joins' answers
  const early = new Map();  // event id -> messages that came before the page read it (see readMessages)

  // An event the page joined is heard of on the page's event stream (queue/data). When no stream
  // is open, and none has opened for a while since the event was joined or the last stream ended,
  // the page is not listening for it and never will: it stops counting as work. (Gradio 6.31 joins
  // a custom feedback option twice; the server can close the stream between the two, and the page
  // then never listens for the second.) The grace is long enough for a page on a loaded machine to
  // open its stream after a join: at 500 ms, a make test run on two busy cores once took a queued
  // reply for unheard and went on before it came (seen on Gradio 5.50, example select).
  const LISTEN_GRACE_MS = 2000;
  function unheard(call) {
    return call.joined && h.streams === 0 && now() - Math.max(call.since, h.streamEndedAt) > LISTEN_GRACE_MS;
  }

  async function readStream(stream) {
    h.streams += 1;
    try {
      await readMessages(stream);
    } finally {
      h.streams -= 1;
      h.streamEndedAt = now();
      changed();
    }
  }

  async function readMessages(stream) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        // the page aborts its own stream once nothing is pending; only other failures matter
        record({ kind: e && e.name === "AbortError" ? "stream_closed" : "stream_error", error: String(e) });
        return;
      }
      if (chunk.done) break;
      buffer += chunk.value;
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        const msg = data && parse(data);
        if (!msg) continue;
        if (msg.msg === "process_generating") h.updates += 1;
        if (msg.msg === "process_completed" && msg.success === false) h.errorAt = now();
        if (msg.event_id && !joined.has(msg.event_id)) {
          // the app can answer an event before the page has read the event id out of its join's
          // answer (a quick handler, a loaded machine): kept until then, as Gradio's client keeps it
          const held = early.get(msg.event_id) || [];
          held.push({ kind: "message", msg, t: now() });
          early.set(msg.event_id, held);
          changed();
          continue;
        }
        const mine = msg.event_id && h.pending.get(msg.event_id);
        if (mine) mine.heard.push(msg.msg);
        record({ kind: "message", msg });
        if (msg.msg === "process_completed" && msg.event_id) h.pending.delete(msg.event_id);
        if (msg.msg === "unexpected_error") { if (msg.event_id) h.pending.delete(msg.event_id); else h.pending.clear(); }
      }
    }
    record({ kind: "stream_closed" });
  }

  async function call(kind, input, init) {
    const body = init && typeof init.body === "string" ? parse(init.body) : null;
    h.started += 1;
    h.startAt = now();
    if (body && body.fn_index !== undefined) h.startedFn[body.fn_index] = (h.startedFn[body.fn_index] || 0) + 1;
    const key = kind + "-" + h.started;
    const since = now();
    h.pending.set(key, { what: body && body.fn_index, since });
    changed();
    let response;
    try {
      response = await original(input, init);
    } catch (e) {
      h.pending.delete(key);
      record({ kind: kind + "_failed", body, error: String(e) });
      throw e;
    }
    const answer = parse(await response.clone().text());
    h.pending.delete(key);
    if (kind === "join" && answer && answer.event_id && response.ok) {
      // the join first, then what the app already sent for it (see readMessages)
      const id = answer.event_id;
      joined.add(id);
      const held = early.get(id) || [];
      early.delete(id);
      const heard = held.map((e) => e.msg.msg);
      if (!heard.some((m) => m === "process_completed" || m === "unexpected_error")) {
        h.pending.set(id, { what: body && body.fn_index, since: now(), joined: true, heard });
      }
      h.log.push({ kind, body, status: response.status, answer, t: since }, ...held);
      changed();
      return response;
    }
    record({ kind, body, status: response.status, answer });
    return response;
  }

  window.fetch = async function (input, init) {
    const url = urlOf(input);
    const path = url.split("?")[0];
    if (/\/queue\/join$/.test(path)) return call("join", input, init);
    if (/\/run\/predict\/?$/.test(path) || /\/api\/predict\/?$/.test(path)) return call("predict", input, init);
    if (/\/upload$/.test(path)) {
      const key = "upload-" + now();
      h.pending.set(key, { what: "upload", since: now() });
      changed();
      try { return await original(input, init); } finally { h.pending.delete(key); h.uploads += 1; changed(); }
    }
    const response = await original(input, init);
    if (/\/queue\/data$/.test(path) && response.body) {
      const [mine, theirs] = response.body.tee();
      readStream(mine);
      return new Response(theirs, { status: response.status, statusText: response.statusText, headers: response.headers });
    }
    return response;
  };

  h.take = () => h.log.splice(0);
  // The app's config as JSON text (much faster to hand over than the object), as the app served it:
  // taken when the page assigns window.gradio_config. Gradio 5's page later turns its components
  // into live objects (props.gradio.client links back to the whole config, a component to its
  // parent), which no longer serialise. Should the assignment be missed, a copy is made that leaves
  // out a link back to an enclosing object and writes a shared object once (null elsewhere).
  let servedConfig;
  let servedConfigText = null;
  try {
    Object.defineProperty(window, "gradio_config", {
      configurable: true,
      enumerable: true,
      get: () => servedConfig,
      set: (value) => {
        servedConfig = value;
        try { servedConfigText = JSON.stringify(value); } catch (e) { servedConfigText = null; }
      },
    });
  } catch (e) { /* defined already: the copy below serves */ }
  h.config = () => {
    if (servedConfigText !== null) return servedConfigText;
    const written = new WeakSet();
    return JSON.stringify(window.gradio_config, function (key, value) {
      if (typeof value !== "object" || value === null) return value;
      if (written.has(value)) return null;
      written.add(value);
      return value;
    });
  };
  h.mark = () => ({ started: h.started, startedFn: { ...h.startedFn }, updates: h.updates, uploads: h.uploads, t: now() });

  // Why the app is not idle right now (empty list = idle). `scope` is the chatbot's root element.
  h.busy = (scope, box) => {
    const reasons = [];
    for (const [key, call] of h.pending) {
      if (unheard(call)) {
        if (!call.reported) record({ kind: "orphaned", event_id: key, fn_index: call.what });
        call.reported = true;
        continue;
      }
      const what = call.what === "upload" ? "a file upload" : `a call to the app's handler (fn ${call.what})`;
      // what the page heard of a queued event tells a stalled queue from a stalled handler
      const heard = call.joined ? ` (event ${key}: heard ${call.heard.join(", ") || "nothing"}; ${h.streams} event stream(s) open)` : "";
      reasons.push(`${what} is still running after ${((now() - call.since) / 1000).toFixed(1)}s${heard}`);
    }
    // a tracker left showing an error (it has a clear button) or a validator's message is not busy
    // (media inside messages have trackers of their own: not the app's progress)
    const trackers = Array.from(document.querySelectorAll("[data-testid=status-tracker]"))
      .filter((e) => !e.classList.contains("hide") && !e.classList.contains("error") && !e.querySelector(".clear-status, .validation-error") && e.offsetParent !== null && !e.closest("[role=log]"));
    if (trackers.length) reasons.push(`${trackers.length} component(s) still show a progress indicator`);
    // after an error the page may leave the textbox disabled and the stop button shown for good:
    // then neither is a sign of work
    const failed = h.errorAt > h.startAt;
    if (box && box.disabled && !failed) reasons.push("the chat textbox is still disabled");
    const root = box && (box.closest(".block") || box.parentElement);
    if (root && root.querySelector("button.stop-button") && !failed) reasons.push("the stop button is still shown");
    if (scope && scope.querySelector(".message-buttons button[aria-label=Retry][disabled], .message-buttons button[aria-label=Undo][disabled]"))
      reasons.push("the Retry / Undo icons are still disabled");
    return reasons;
  };

  // Whether the app is idle now: the action started what it must, and nothing is busy.
  h.idle = (scope, box, startedBefore, mustStart) => !(mustStart && h.started <= startedBefore) && h.busy(scope, box).length === 0;

  // The conditions the driver waits for, by name (no code is built from strings: a page's CSP may forbid that).
  const conditions = {
    // the app idle, and nothing changed for `quietMs` (so a `.then()` step or a change listener that
    // starts right after another one ends is not missed)
    idle: (scope, box, startedBefore, mustStart) => h.idle(scope, box, startedBefore, mustStart),
    started: (startedBefore) => h.started > startedBefore,
    startedFn: (fn, before) => (h.startedFn[fn] || 0) > before,
    uploaded: (before) => h.uploads > before && ![...h.pending.values()].some((c) => c.what === "upload"),
    // `want` streamed updates since `before` (at once), or the app idle again (the reply ended
    // sooner; held for the quiet time, like idle, so the gap between two calls of a chain is not taken for the end)
    updates: {
      now: (before, want) => h.updates >= before + want,
      quiet: (before, want, scope, box, startedBefore) => h.idle(scope, box, startedBefore, true),
    },
    // the chatbot shows one of the role sequences in `ways`
    shows: (scope, ways) => {
      const m = h.messages(scope) || [];
      return ways.some((roles) => m.length === roles.length && m.every((x, i) => x.role === roles[i]));
    },
  };

  // A promise: true once `conditions[name](...args)` has held with no change for `quietMs`, false
  // after `timeoutMs`. It is checked when something changes (a call, a streamed message, the DOM)
  // and, for conditions that turn true with time alone (an unheard call), every `recheckMs`.
  // A condition given as {now, quiet} is true at once when `now` holds, or when `quiet` has held quietly.
  // A condition that throws ends the wait at once with its error (a wait that could never end else).
  h.until = (name, args, quietMs, timeoutMs, recheckMs) => new Promise((resolve, reject) => {
    const condition = conditions[name];
    let broken = null;
    const guard = (fn) => (...a) => { try { return fn(...a); } catch (e) { broken = broken || e; return true; } };
    const atOnce = guard(condition.now || (() => false));
    const quietly = guard(condition.quiet || condition);
    const test = (...a) => atOnce(...a) || quietly(...a);
    let timer = null;
    let done = false;
    const observer = new MutationObserver(() => wake());
    const finish = (ok) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      clearInterval(recheck);
      observer.disconnect();
      waiters.delete(wake);
      if (broken) reject(broken);
      else resolve(ok);
    };
    const check = () => { if (test(...args)) finish(true); };
    function wake() {
      if (atOnce(...args)) return finish(true);
      clearTimeout(timer);
      timer = setTimeout(check, quietMs);
    }
    const deadline = setTimeout(() => finish(test(...args)), timeoutMs);
    const recheck = setInterval(wake, recheckMs);
    observer.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
    waiters.add(wake);
    if (quietMs === 0 && test(...args)) finish(true);
    else wake();
  });

  // What the chatbot shows: one entry per rendered message, in order (a message hidden by the
  // app's CSS is not shown to a person, so it does not count).
  h.messages = (scope) => {
    if (!scope) return null;
    return Array.from(scope.querySelectorAll(".message-row .flex-wrap > .message")).filter((m) => m.getClientRects().length > 0).map((m) => {
      const editing = m.querySelector("textarea.edit-textarea");
      return {
        role: m.classList.contains("user") ? "user" : m.classList.contains("bot") ? "assistant" : "unknown",
        text: editing ? editing.value : (m.innerText || "").trim(),
        thoughts: Array.from(m.querySelectorAll(".thought-group .title")).map((t) => (t.innerText || "").trim()),
        files: Array.from(m.querySelectorAll("a[download]")).map((a) => a.getAttribute("download") || (a.innerText || "").trim()),
      };
    });
  };
})();
