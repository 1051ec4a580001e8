// The striate page: a drawing pad, the prediction, every layer's feature maps, the filters.
// Everything comes from this app's own JSON API; nothing is fetched from elsewhere.
"use strict";

// generation: bumped by Clear, so that an answer to a request made before it is not shown after it
const state = { model: null, busy: false, again: false, drawing: false, last: null, generation: 0 };
const $ = (id) => document.getElementById(id);

// A perceptual colour map (dark blue -> teal -> yellow, close to viridis) as a 256-entry table.
const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const LUT = Array.from({ length: 256 }, (_, v) => {
  const t = (v / 255) * (STOPS.length - 1), i = Math.min(Math.floor(t), STOPS.length - 2), f = t - i;
  return STOPS[i].map((c, k) => Math.round(c + f * (STOPS[i + 1][k] - c)));
});

function decode(picture) { // base64 -> Uint8Array
  const text = atob(picture.data), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function paint(canvas, bytes, offset, width, height, colour, grey) {
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d"), image = context.createImageData(width, height);
  const plane = width * height;
  for (let p = 0; p < plane; p++) {
    const rgb = colour ? [bytes[offset + p], bytes[offset + plane + p], bytes[offset + 2 * plane + p]]
      : grey ? [bytes[offset + p], bytes[offset + p], bytes[offset + p]] : LUT[bytes[offset + p]];
    image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * p);
  }
  context.putImageData(image, 0, 0);
}

// One picture record -> a list of canvases (reused between updates when the shape stays the same).
function drawPicture(container, picture, className, size, grey) {
  const bytes = decode(picture), shape = picture.shape;
  if (picture.kind === "vector") {
    const n = shape[2], cols = Math.min(n, 32), rows = Math.ceil(n / cols);
    const padded = new Uint8Array(cols * rows); padded.set(bytes.subarray(0, n));
    const canvas = reuse(container, 1, "vector")[0];
    paint(canvas, padded, 0, cols, rows, false, false);
    canvas.style.width = `${cols * 12}px`;  // the height follows (CSS height: auto keeps cols x rows in shape)
    return;
  }
  const colour = picture.kind === "colour", [count, height, width] = [shape[0], shape.at(-2), shape.at(-1)];
  const canvases = reuse(container, count, className), plane = height * width * (colour ? 3 : 1);
  const scale = Math.max(1, Math.floor(size / Math.max(height, width)));
  canvases.forEach((canvas, index) => {
    paint(canvas, bytes, index * plane, width, height, colour, grey);
    canvas.style.width = `${width * scale}px`;  // the height follows the canvas's own shape (CSS height: auto)
    canvas.title = `${picture.name} #${index}`;
  });
}

function reuse(container, count, className) {
  const existing = container.querySelectorAll("canvas");
  if (existing.length !== count || (existing[0] && !existing[0].classList.contains(className))) {
    container.replaceChildren(...Array.from({ length: count }, () => {
      const canvas = document.createElement("canvas"); canvas.className = className; return canvas;
    }));
  }
  return Array.from(container.querySelectorAll("canvas"));
}

function showTop(top) {
  $("top").replaceChildren(...top.map((entry) => {
    const item = document.createElement("li"), percent = (100 * entry.probability).toFixed(1);
    item.innerHTML = '<span class="name"></span><span class="bar"><span class="fill"></span></span><span class="value"></span>';
    item.querySelector(".name").textContent = entry.class;
    item.querySelector(".fill").style.width = `${percent}%`;
    item.querySelector(".value").textContent = `${percent}%`;
    return item;
  }));
}

function showLayers(result) {
  const host = $("layers"), pictures = [result.input, ...result.layers];
  if (!host.querySelector(".layer")) host.replaceChildren();
  const seen = new Set();
  pictures.forEach((picture) => {
    seen.add(picture.name);
    let block = host.querySelector(`.layer[data-name="${CSS.escape(picture.name)}"]`);
    if (!block) {
      block = document.createElement("div"); block.className = "layer"; block.dataset.name = picture.name;
      block.innerHTML = '<h3><span class="title"></span><span class="shape"></span></h3><div class="grid"></div>';
      block.querySelector(".title").textContent = picture.name;
      host.appendChild(block);
    }
    const shown = picture.kind === "maps" && picture.shape[0] < picture.output_shape[0] ? ` (first ${picture.shape[0]} shown)` : "";
    block.querySelector(".shape").textContent = picture.output_shape.join("×") + shown;
    const isInput = picture.name === "input";
    drawPicture(block.querySelector(".grid"), picture, "map", isInput ? 96 : 56, isInput);
  });
  host.querySelectorAll(".layer").forEach((block) => { if (!seen.has(block.dataset.name)) block.remove(); });
}

function setStatus(text, isError) { $("status").textContent = text; $("status").classList.toggle("error", !!isError); }

// generation: the Clear count when the image was taken (a drawing's blob is made before the request starts)
async function predict(blob, name, generation = state.generation) {
  const k = Math.min(5, state.model.class_names.length), form = new FormData();
  if (generation !== state.generation) return;  // cleared while the drawing was being encoded
  form.append("image", blob, name);
  const response = await fetch(`/api/predict?activations=true&top_k=${k}`, { method: "POST", body: form });
  const body = await response.json();
  if (generation !== state.generation) return;  // cleared meanwhile: this answer is about a drawing that is gone
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  showTop(body.top); showLayers(body);
  setStatus(`${name}: ${body.top[0].class} (${(100 * body.top[0].probability).toFixed(1)}%)`);
}

// The drawing, brought to the training images' native size (MNIST-style centring when asked).
function drawingBlob() {
  const pad = $("pad"), [height, width] = state.model.preprocess.native_size;
  const out = document.createElement("canvas"); out.width = width; out.height = height;
  const context = out.getContext("2d"); context.fillStyle = "#000"; context.fillRect(0, 0, width, height);
  context.imageSmoothingEnabled = true; context.imageSmoothingQuality = "high";
  const box = inkBox(pad);
  if (!box) return null;
  if ($("centre").checked) {
    const side = Math.max(box.w, box.h), target = Math.max(1, Math.round(Math.min(width, height) * 20 / 28));
    const w = (box.w / side) * target, h = (box.h / side) * target;
    context.drawImage(pad, box.x, box.y, box.w, box.h, (width - w) / 2, (height - h) / 2, w, h);
  } else {
    context.drawImage(pad, 0, 0, width, height);
  }
  return new Promise((resolve) => out.toBlob(resolve, "image/png"));
}

function inkBox(canvas) {
  const { width, height } = canvas, data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    if (data[4 * (y * width + x)] > 16) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

// At most one request in flight; strokes made meanwhile trigger one more when it returns.
async function update() {
  if (state.busy) { state.again = true; return; }
  state.busy = true; document.body.dataset.busy = "1";  // the attribute lets tests wait for the last answer
  try {
    const generation = state.generation, blob = await drawingBlob();
    if (blob) await predict(blob, "drawing", generation);
  } catch (error) { setStatus(error.message, true); }
  state.busy = false;
  if (state.again) { state.again = false; update(); } else { document.body.dataset.busy = "0"; }
}

function setUpPad() {
  const pad = $("pad"), context = pad.getContext("2d", { willReadFrequently: true });  // inkBox reads it back often
  const clear = () => { context.fillStyle = "#000"; context.fillRect(0, 0, pad.width, pad.height); };
  clear();
  const at = (event) => { const r = pad.getBoundingClientRect(); return [(event.clientX - r.left) * pad.width / r.width, (event.clientY - r.top) * pad.height / r.height]; };
  pad.addEventListener("pointerdown", (event) => {
    state.drawing = true; state.last = at(event); pad.setPointerCapture(event.pointerId);
    stroke(context, state.last, state.last); update();
  });
  pad.addEventListener("pointermove", (event) => {
    if (!state.drawing) return;
    const point = at(event); stroke(context, state.last, point); state.last = point; update();
  });
  const stop = () => { if (state.drawing) { state.drawing = false; update(); } };
  pad.addEventListener("pointerup", stop); pad.addEventListener("pointerleave", stop);
  const placeholder = $("layers").firstElementChild.cloneNode(true);  // "Draw or upload an image ..."
  $("clear").addEventListener("click", () => {
    state.generation += 1; state.again = false;
    clear(); $("top").replaceChildren(); $("layers").replaceChildren(placeholder.cloneNode(true));
    setStatus("Cleared; draw again.");
  });
  $("centre").addEventListener("change", update);
  $("upload").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try { await predict(file, file.name); } catch (error) { setStatus(`${file.name}: ${error.message}`, true); }
    event.target.value = "";
  });
}

function stroke(context, from, to) {
  context.strokeStyle = "#fff"; context.lineWidth = 20; context.lineCap = "round"; context.lineJoin = "round";
  context.beginPath(); context.moveTo(from[0], from[1]); context.lineTo(to[0], to[1]); context.stroke();
}

async function showModel() {
  const model = state.model;
  $("model-line").textContent = `run ${model.run} · ${model.name} · ${model.parameters.toLocaleString()} parameters · ` +
    `${model.class_names.length} classes · input ${model.input_shape.join("×")}`;
  const report = $("report");
  if (model.report.available) {
    report.innerHTML = '<a target="_blank" rel="noopener">Open the run report</a>';
    report.querySelector("a").href = model.report.url;
  } else {
    report.textContent = `The report has not been made yet: ${model.report.how}.`;
    report.classList.add("muted");
  }
  const summary = model.summary || {}, rows = [["test accuracy", summary.test_accuracy], ["best validation accuracy", summary.best_val_accuracy], ["epochs", summary.epochs]];
  $("summary").replaceChildren(...rows.filter((row) => row[1] !== undefined && row[1] !== null).map(([name, value]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td></td>";
    tr.cells[0].textContent = name;
    tr.cells[1].textContent = typeof value === "number" && value <= 1 && name.includes("accuracy") ? `${(100 * value).toFixed(2)}%` : value;
    return tr;
  }));
  const filters = await (await fetch("/api/filters")).json();
  if (filters) {
    $("filters-note").textContent = `${filters.name}: ${filters.output_shape.join("×")}` + (filters.shape[0] < filters.output_shape[0] ? ` (first ${filters.shape[0]})` : "");
    drawPicture($("filters"), filters, "filter", 32, true);
  } else {
    $("filters-note").textContent = "This model's first layer has no filters to draw.";
  }
}

async function start() {
  setUpPad();
  try {
    state.model = await (await fetch("/api/model")).json();
    await showModel();
  } catch (error) { setStatus(`cannot load the model: ${error.message}`, true); }
}

document.addEventListener("DOMContentLoaded", start);
