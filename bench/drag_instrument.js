/* Injected by bench/drag_browser.py into every page before its scripts run: records how one figure
   follows a drag. window.__drag.start(root, names) watches the element root ([data-figure=…]):
   - every change of its DOM (a MutationObserver; Plotly's hover labels excepted), for the settle time;
   - every animation frame (requestAnimationFrame), for frames a second; at each frame, whether the
     computed traces (those whose names start with one of names: arrows, paths, bars) changed their
     name, x or y since the frame before: computed updates a second;
   - pointer and input events, the lab's training-landscape events (a figure fed by a stream), and
     every fetch: sent, answered, left unanswered.
   window.__drag.stop() returns the record. Times are performance.now() of the page.

   With window.__DRAG_FULL_REDRAW set before the page loads (the baseline), the figure kernel
   (static/js/common.js), which compares each drawing with the element's last (element.__painted) to
   move only what moved, never finds a last drawing: each update redraws the figure in full with
   Plotly.react. */
(() => {
  if (window.__drag) return;
  const S = { running: false };
  let observer = null, root = null, names = [], last = null, run = 0;

  function reset() {
    Object.assign(S, { mutations: [], frames: [], computed: [], moves: [], inputs: [], ups: [], fetches: [], streamed: [] });
  }
  reset();

  function onMutations(list) {
    const useful = list.filter((m) => {
      const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
      return !(el && el.closest && el.closest(".hoverlayer"));
    });
    if (useful.length) S.mutations.push([performance.now(), useful.length]);
  }

  function computed() {  // the shown plots' (a flipbook's hidden pages excepted)
    const traces = Array.from(root.querySelectorAll(".js-plotly-plot"))
      .filter((plot) => getComputedStyle(plot).visibility !== "hidden").flatMap((plot) => plot.data || []);
    return JSON.stringify(traces.filter((t) => names.some((n) => (t.name || "").startsWith(n))).map((t) => [t.name, t.x, t.y]));
  }

  function frame(ts, id) {  // one chain of frames per start(): a stop() and start() within a frame end the old one
    if (!S.running || id !== run) return;
    S.frames.push(ts);
    const now = computed();
    if (now !== last) { S.computed.push(ts); last = now; }
    requestAnimationFrame((next) => frame(next, id));
  }

  addEventListener("pointermove", (e) => { if (S.running) S.moves.push(performance.now()); }, true);
  addEventListener("pointerup", () => { if (S.running) S.ups.push(performance.now()); }, true);
  addEventListener("training-landscape", () => { if (S.running) S.streamed.push(performance.now()); }, true);
  addEventListener("input", (e) => { if (S.running) S.inputs.push([performance.now(), e.target.value]); }, true);

  const fetch0 = window.fetch;
  window.fetch = function (...args) {
    const entry = { url: String(args[0]), sent: performance.now(), answered: null };
    if (S.running) S.fetches.push(entry);
    return fetch0.apply(this, args).finally(() => { entry.answered = performance.now(); });
  };

  if (window.__DRAG_FULL_REDRAW) {  // the kernel never finds its last drawing: Plotly.react each time
    Object.defineProperty(HTMLElement.prototype, "__painted", { configurable: true, get: () => undefined, set: () => {} });
  }

  window.__drag = {
    start(rootSelector, computedNames) {
      reset();
      root = document.querySelector(rootSelector);
      names = computedNames;
      last = computed();
      if (observer) observer.disconnect();
      observer = new MutationObserver(onMutations);
      observer.observe(root, { subtree: true, attributes: true, childList: true, characterData: true });
      S.running = true;
      const id = ++run;
      requestAnimationFrame((ts) => frame(ts, id));
      return performance.now();
    },
    lastMutation: () => (S.mutations.length ? S.mutations[S.mutations.length - 1][0] : null),
    pending: () => S.fetches.filter((f) => f.answered === null).length,
    now: () => performance.now(),
    stop() {
      S.running = false;
      if (observer) { onMutations(observer.takeRecords()); observer.disconnect(); observer = null; }
      return JSON.parse(JSON.stringify(S));
    },
  };
})();
