// The striate playground: a small MLP learns a 2-D toy problem on the server while this page draws the
// decision boundary and every unit's output over the plane. Everything comes from this app's own JSON API
// (/api/playground/...); nothing is fetched from elsewhere.
"use strict";

// generation: bumped by every new session, so that an answer about an older one is never drawn
const state = { options: null, settings: null, session: null, about: null, playing: false, busy: false,
  looping: false, generation: 0, history: [], boundary: null };
const $ = (id) => document.getElementById(id);

// The TensorFlow playground's diverging colours: orange (-1, class 0), near-white (0), blue (+1, class 1).
const ORANGE = [245, 147, 34], WHITE = [232, 234, 235], BLUE = [8, 119, 189];
const LUT = Array.from({ length: 256 }, (_, level) => {
  const v = level / 127.5 - 1, end = v < 0 ? ORANGE : BLUE, t = Math.min(1, Math.abs(v));
  return WHITE.map((c, k) => Math.round(c + t * (end[k] - c)));
});
const colour = (rgb) => `rgb(${rgb.join(",")})`;

function decode(data) { // base64 -> Uint8Array
  const text = atob(data), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// A picture from the server (size x size levels, row by row from the top) painted onto ``canvas``.
function paint(canvas, picture) {
  const bytes = decode(picture.data), size = picture.size;
  canvas.width = size; canvas.height = size;
  const context = canvas.getContext("2d"), image = context.createImageData(size, size);
  for (let p = 0; p < size * size; p++) image.data.set([...LUT[bytes[p]], 255], 4 * p);
  context.putImageData(image, 0, 0);
}

function drawBoundary(picture) {
  const canvas = $("boundary"), context = canvas.getContext("2d"), small = document.createElement("canvas");
  paint(small, picture);
  context.imageSmoothingEnabled = true;
  context.drawImage(small, 0, 0, canvas.width, canvas.height);
  const extent = state.about.extent, place = (value, flip) => ((flip ? extent - value : value + extent) / (2 * extent));
  const groups = [[state.about.train, "#fff"], ...($("show-test").checked ? [[state.about.test, "#111"]] : [])];
  for (const [points, edge] of groups) {
    for (const [x, y, label] of points) {
      context.beginPath();
      context.arc(place(x, false) * canvas.width, place(y, true) * canvas.height, 3.2, 0, 2 * Math.PI);
      context.fillStyle = colour(label ? BLUE : ORANGE); context.fill();
      context.lineWidth = 1; context.strokeStyle = edge; context.stroke();
    }
  }
  canvas.dataset.step = String(document.body.dataset.step);
}

function drawCurve() {
  const canvas = $("curve"), context = canvas.getContext("2d"), points = state.history;
  context.clearRect(0, 0, canvas.width, canvas.height);
  const losses = points.flatMap((p) => [p.train, p.test]).filter((v) => v !== null);
  if (points.length < 2 || !losses.length) return;
  const top = Math.max(...losses) || 1, last = points.at(-1).step || 1;
  for (const [key, ink] of [["train", "#9ca3af"], ["test", "#111"]]) {
    context.beginPath(); context.strokeStyle = ink; context.lineWidth = 1.5;
    points.filter((p) => p[key] !== null).forEach((p, index) => {
      const x = (p.step / last) * (canvas.width - 2) + 1, y = canvas.height - 2 - (p[key] / top) * (canvas.height - 4);
      if (index) context.lineTo(x, y); else context.moveTo(x, y);
    });
    context.stroke();
  }
}

// The network's columns: the input features (ticked ones feed the first layer) and each hidden layer.
function buildNetwork() {
  const features = state.options.choices.features, chosen = new Set(state.settings.features);
  $("features").replaceChildren(...features.map((name) => {
    const row = document.createElement("label"), box = document.createElement("input"), canvas = document.createElement("canvas");
    row.className = "feature"; box.type = "checkbox"; box.checked = chosen.has(name); box.dataset.feature = name;
    canvas.className = "unit input"; canvas.dataset.feature = name; canvas.width = canvas.height = 1;
    box.addEventListener("change", () => {
      const next = features.filter((f) => (f === name ? box.checked : state.settings.features.includes(f)));
      if (!next.length) { box.checked = true; setStatus("keep at least one input feature", true); return; }
      change("features", next);
    });
    row.append(box, canvas, document.createTextNode(name.replace("2", "²").replace("sin", "sin ")));
    return row;
  }));
  const hidden = state.settings.hidden, limit = state.options.hidden;
  $("layer-count").textContent = String(hidden.length);
  $("remove-layer").disabled = hidden.length === 0; $("add-layer").disabled = hidden.length >= limit.max_layers;
  $("hidden-columns").replaceChildren(...hidden.map((units, layer) => {
    const column = document.createElement("div");
    column.className = "column"; column.dataset.layer = String(layer);
    column.innerHTML = '<div class="units-bar"><button type="button" class="fewer">−</button><span></span>' +
      '<button type="button" class="more">+</button></div><div class="units"></div>';
    column.querySelector("span").textContent = `${units} unit${units > 1 ? "s" : ""}`;
    const widen = (by) => change("hidden", hidden.map((u, i) => (i === layer ? u + by : u)));
    column.querySelector(".fewer").disabled = units <= 1; column.querySelector(".fewer").addEventListener("click", () => widen(-1));
    column.querySelector(".more").disabled = units >= limit.max_units; column.querySelector(".more").addEventListener("click", () => widen(1));
    column.querySelector(".units").replaceChildren(...Array.from({ length: units }, (_, unit) => {
      const canvas = document.createElement("canvas");
      canvas.className = "unit"; canvas.dataset.layer = String(layer); canvas.dataset.unit = String(unit);
      canvas.title = `hidden layer ${layer + 1}, unit ${unit + 1}`; canvas.width = canvas.height = 1;
      return canvas;
    }));
    return column;
  }));
}

function show(answer) {
  document.body.dataset.step = String(answer.step);
  $("step").textContent = answer.step.toLocaleString(); $("epoch").textContent = answer.epoch.toLocaleString();
  const loss = (value) => (value === null ? "diverged" : value.toFixed(3));
  $("test-loss").textContent = loss(answer.test_loss); $("train-loss").textContent = loss(answer.train_loss);
  $("test-accuracy").textContent = `${(100 * answer.test_accuracy).toFixed(1)}%`;
  const last = state.history.at(-1);
  if (!last || last.step !== answer.step) state.history.push({ step: answer.step, train: answer.train_loss, test: answer.test_loss });
  drawCurve();
  state.boundary = answer.boundary; drawBoundary(answer.boundary);
  answer.layers.forEach((units, layer) => units.forEach((picture, unit) => {
    const canvas = document.querySelector(`canvas.unit[data-layer="${layer}"][data-unit="${unit}"]`);
    if (canvas) { paint(canvas, picture); canvas.title = `hidden layer ${layer + 1}, unit ${unit + 1} (largest |output| ${picture.scale.toPrecision(3)})`; }
  }));
  if (answer.diverged) { pause(); setStatus("the loss diverged: lower the learning rate, then Reset", true); }
}

function setStatus(text, isError) { $("status").textContent = text; $("status").classList.toggle("error", !!isError); }

async function call(method, url, body) {
  const response = await fetch(url, { method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined });
  const answer = response.status === 204 ? null : await response.json();
  return { status: response.status, ok: response.ok, answer };
}

// A new session with the current settings: step 0, new weights; the old session is ended on the server.
async function newSession() {
  const generation = ++state.generation, old = state.session;
  state.session = null; state.history = [];
  if (old) call("DELETE", `/api/playground/sessions/${encodeURIComponent(old)}`).catch(() => {});
  buildNetwork();
  busy(true);
  try {
    const { ok, answer } = await call("POST", "/api/playground/sessions", state.settings);
    if (generation !== state.generation) return;
    if (!ok) throw new Error(answer.detail);
    state.session = answer.session; state.about = answer;
    answer.features.forEach((picture) => paint(document.querySelector(`canvas.input[data-feature="${picture.name}"]`), picture));
    $("parameters").textContent = `${answer.parameters} parameters · ${answer.train.length} training and ${answer.test.length} test points`;
    show(answer);
    setStatus(state.playing ? "training…" : "ready: press Play");
  } catch (error) { pause(); setStatus(`cannot start: ${error.message}`, true); }
  finally { if (generation === state.generation) busy(false); }
  if (state.playing) loop();
}

function busy(on) { state.busy = on; document.body.dataset.busy = on ? "1" : "0"; }

// ``count`` more steps of the current session (one request at a time); a session the server has ended
// (it keeps only a few, the least recently used goes first) is started again.
async function advance(count) {
  if (state.busy || !state.session) return;
  const generation = state.generation;
  busy(true);
  try {
    const { ok, status, answer } = await call("POST", `/api/playground/sessions/${encodeURIComponent(state.session)}/steps?count=${count}`);
    if (generation !== state.generation) return;
    if (status === 404) { setStatus("the server had ended this session; started again"); busy(false); await newSession(); return; }
    if (!ok) throw new Error(answer.detail);
    show(answer);
  } catch (error) { pause(); setStatus(error.message, true); }
  finally { if (generation === state.generation) busy(false); }
}

// While playing: one update after another, one loop at a time (a new session picks up the running loop).
async function loop() {
  if (state.looping) return;
  state.looping = true;
  try {
    while (state.playing && state.session) {
      await advance(Number($("speed").value));
      await new Promise((resolve) => requestAnimationFrame(resolve));  // let the page paint between updates
    }
  } finally { state.looping = false; }
}

function play() { state.playing = true; $("play").textContent = "Pause"; setStatus("training…"); loop(); }
function pause() {
  if (state.playing) setStatus("paused: Play goes on, Step takes one update");
  state.playing = false; $("play").textContent = "Play";
}

function change(name, value) {
  state.settings = { ...state.settings, [name]: value };
  newSession();
}

function fillSelect(select, values, chosen, label) {
  select.replaceChildren(...values.map((value) => {
    const option = document.createElement("option"); option.value = String(value); option.textContent = label ? label(value) : String(value);
    option.selected = value === chosen; return option;
  }));
}

function setUpControls() {
  const { choices, ranges, suggested } = state.options, settings = state.settings;
  $("datasets").replaceChildren(...choices.data.map((name) => {
    const button = document.createElement("button");
    button.type = "button"; button.textContent = name; button.dataset.data = name; button.setAttribute("role", "radio");
    button.addEventListener("click", () => {
      document.querySelectorAll("#datasets button").forEach((b) => b.setAttribute("aria-checked", String(b === button)));
      change("data", name);
    });
    button.setAttribute("aria-checked", String(name === settings.data));
    return button;
  }));
  for (const name of ["noise", "train_fraction"]) {
    const input = $(name), [low, high] = ranges[name], shown = $(`${name}-value`);
    Object.assign(input, { min: low, max: high, step: 0.05, value: settings[name] });
    const label = () => { shown.textContent = `${Math.round(100 * input.value)}%`; };
    label();
    input.addEventListener("input", label);
    input.addEventListener("change", () => change(name, Number(input.value)));
  }
  for (const name of ["points", "batch_size", "seed"]) {
    const input = $(name), [low, high] = ranges[name];
    Object.assign(input, { min: low, max: high, step: 1, value: settings[name] });
    input.addEventListener("change", () => {
      const value = Math.round(Number(input.value));
      if (!(value >= low && value <= high)) { setStatus(`${name.replace("_", " ")} takes ${low} to ${high}`, true); input.value = state.settings[name]; return; }
      change(name, value);
    });
  }
  fillSelect($("activation"), choices.activation, settings.activation);
  fillSelect($("regularization"), choices.regularization, settings.regularization, (v) => (v === "none" ? "none" : v.toUpperCase()));
  fillSelect($("lr"), suggested.lr, settings.lr);
  fillSelect($("regularization_rate"), suggested.regularization_rate, settings.regularization_rate);
  fillSelect($("speed"), suggested.steps, 10);
  for (const name of ["activation", "regularization"]) $(name).addEventListener("change", (event) => change(name, event.target.value));
  for (const name of ["lr", "regularization_rate"]) $(name).addEventListener("change", (event) => change(name, Number(event.target.value)));
  $("add-layer").addEventListener("click", () => change("hidden", [...state.settings.hidden, Math.min(4, state.options.hidden.max_units)]));
  $("remove-layer").addEventListener("click", () => change("hidden", state.settings.hidden.slice(0, -1)));
  $("play").addEventListener("click", () => (state.playing ? pause() : play()));
  $("step-once").addEventListener("click", () => { pause(); advance(Number($("speed").value)); });
  $("reset").addEventListener("click", () => newSession());
  $("show-test").addEventListener("change", () => { if (state.boundary) drawBoundary(state.boundary); });
}

async function start() {
  try {
    state.options = (await call("GET", "/api/playground/options")).answer;
    state.settings = { ...state.options.defaults };
    setUpControls();
    await newSession();
  } catch (error) { setStatus(`cannot load the playground: ${error.message}`, true); }
}

window.addEventListener("pagehide", () => {  // end the session on the server when the page goes away
  if (state.session) fetch(`/api/playground/sessions/${encodeURIComponent(state.session)}`, { method: "DELETE", keepalive: true });
});
document.addEventListener("DOMContentLoaded", start);
