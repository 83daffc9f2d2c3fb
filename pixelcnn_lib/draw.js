// The view of DigitDrawer (live.py): the shipped model drawing digits in the page, pixel by
// pixel, with the current pixel's receptive field outlined and its 256-way distribution plotted,
// and a canvas the reader draws on for the model to complete. The model runs in gated.js; the
// field comes from field.js (the analytic field the other widgets draw). No request leaves the page.
import { h, addStyle, select, COLOURS } from "./dom.js";
import { analyticField } from "./field.js";
import { buildModel, Drawing } from "./gated.js";

const CSS = `
.pxd { font: 13px/1.4 system-ui, sans-serif; max-width: 680px; }
.pxd-row { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin: 6px 0; }
.pxd-row label { margin-right: 4px; }
.pxd canvas { image-rendering: pixelated; border: 1px solid #888; touch-action: none; }
.pxd-panels { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.pxd-caption { margin: 2px 0 0; color: #333; }
.pxd button { font: inherit; padding: 2px 10px; }
.pxd input[type=number] { width: 6em; }
`;
const SCALE = 8;                      // screen pixels per image pixel: 28 x 8 = 224 px
const SPEEDS = [["1", "slow (1 pixel a frame)"], ["8", "medium (8 pixels a frame)"],
                ["56", "fast (2 rows a frame)"]];

/** Grey image of `levels` [H * W] on a canvas; pixels from `upTo` on are drawn pale blue. */
function paint(ctx, levels, H, W, L, upTo) {
  const data = ctx.createImageData(W, H);
  for (let p = 0; p < H * W; p++) {
    const g = Math.round((levels[p] * 255) / (L - 1));
    const rgb = p < upTo ? [g, g, g] : [222, 235, 247];
    data.data.set([...rgb, 255], 4 * p);
  }
  ctx.putImageData(data, 0, 0);
}

/** The outline of a 0/1 field and the current pixel, drawn on the scaled overlay canvas. */
function outlineField(ctx, field, [i0, j0], H, W) {
  ctx.clearRect(0, 0, W * SCALE, H * SCALE);
  ctx.strokeStyle = COLOURS.seen;
  ctx.lineWidth = 2;
  const inside = (i, j) => i >= 0 && i < H && j >= 0 && j < W && field[i * W + j];
  ctx.beginPath();
  for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
    if (!inside(i, j)) continue;
    const x = j * SCALE, y = i * SCALE;
    if (!inside(i - 1, j)) { ctx.moveTo(x, y + 1); ctx.lineTo(x + SCALE, y + 1); }
    if (!inside(i + 1, j)) { ctx.moveTo(x, y + SCALE - 1); ctx.lineTo(x + SCALE, y + SCALE - 1); }
    if (!inside(i, j - 1)) { ctx.moveTo(x + 1, y); ctx.lineTo(x + 1, y + SCALE); }
    if (!inside(i, j + 1)) { ctx.moveTo(x + SCALE - 1, y); ctx.lineTo(x + SCALE - 1, y + SCALE); }
  }
  ctx.stroke();
  ctx.fillStyle = COLOURS.blind;
  ctx.fillRect(j0 * SCALE, i0 * SCALE, SCALE, SCALE);
}

/** The 256-way distribution as bars, the drawn level marked with a line and its value. */
function plotDistribution(ctx, probs, level, width, height) {
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  if (!probs) return;
  // log scale from 1e-4 to 1: the background pixels' p ~ 0.99 would flatten every other bar
  const L = probs.length, plotH = height - 16, bar = width / L, floor = 4;
  ctx.fillStyle = COLOURS.seen;
  for (let c = 0; c < L; c++) {
    const v = (Math.max(Math.log10(probs[c]) + floor, 0) / floor) * (plotH - 4);
    ctx.fillRect(c * bar, plotH - v, Math.max(bar, 1), v);
  }
  ctx.strokeStyle = COLOURS.leak;
  ctx.lineWidth = 2;
  const x = (level + 0.5) * bar;
  ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, plotH); ctx.stroke();
  ctx.fillStyle = "#000";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText("0", 0, height - 3);
  ctx.fillText(String(L - 1), width - 20, height - 3);
  const text = `level ${level}, p = ${probs[level].toPrecision(2)}`;
  ctx.fillText(text, Math.min(Math.max(x - 40, 20), width - 130), height - 3);
}

/** The float32 weights from the Bytes trait (a DataView live and in the static page). */
function floats(v) {
  const view = v instanceof DataView || ArrayBuffer.isView(v) ? v : new DataView(v);
  const copy = view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);  // aligned
  return new Float32Array(copy);
}

function render({ model, el }) {
  addStyle(el, "pxd-style", CSS);
  (window.__pxdModels ||= []).push(model);  // what the page checks read the drawn levels from
  const get = (k) => model.get(k);
  const [H, W] = get("image_size"), classes = get("n_classes"), L = get("spec").levels;
  const root = h("div", { class: "pxd", "data-pixels": "0" });
  const status = h("p", { class: "pxd-caption", role: "status", "aria-live": "polite",
                          text: "Loading the model…" });

  // --- controls
  const labelOptions = classes ? Array.from({ length: classes }, (_, k) => [k, String(k)])
    : [["any", "any (unconditional)"]];
  let label = classes ? Math.min(get("label"), classes - 1) : 0;
  const classBox = select("class", "Class", labelOptions, (v) => { label = classes ? +v : 0; });
  classBox.input.value = String(classes ? label : "any");
  const temp = h("input", { type: "number", min: "0.05", max: "3", step: "0.05", value: String(get("temperature")),
                            name: "temperature", id: `pxd-t-${Math.random().toString(36).slice(2)}` });
  const tempBox = h("span", {}, h("label", { for: temp.id, text: "Temperature" }), temp);
  let speed = 8;
  const speedBox = select("speed", "Speed", SPEEDS, (v) => { speed = +v; });
  speedBox.input.value = "8";
  const seedInput = h("input", { type: "number", min: "0", step: "1", value: "0", name: "seed",
                                 id: `pxd-s-${Math.random().toString(36).slice(2)}` });
  const seedBox = h("span", {}, h("label", { for: seedInput.id, text: "Seed" }), seedInput);
  const drawBtn = h("button", { type: "button", text: "Draw (new seed)" });
  const repeatBtn = h("button", { type: "button", text: "Draw this seed" });
  const finishBtn = h("button", { type: "button", text: "Finish now", disabled: true });

  // --- the drawing and what the model sees while it draws
  const image = h("canvas", { width: String(W), height: String(H), role: "img",
                              "aria-label": "The digit being drawn", class: "pxd-image",
                              style: `width:${W * SCALE}px;height:${H * SCALE}px` });
  const overlay = h("canvas", { width: String(W * SCALE), height: String(H * SCALE), "aria-hidden": "true",
                                style: `position:absolute;left:0;top:0;border-color:transparent;pointer-events:none` });
  const stack = h("div", { style: `position:relative;width:${W * SCALE + 2}px;height:${H * SCALE + 2}px` },
                  image, overlay);
  const distW = 300, distH = 110;
  const dist = h("canvas", { width: String(distW), height: String(distH), role: "img", class: "pxd-dist",
                             "aria-label": "Predictive distribution of the current pixel over its levels" });
  const distCaption = h("p", { class: "pxd-caption", text: "The model's distribution for the current pixel "
    + `(${L} levels, dark to bright; bar heights on a log scale from p = 0.0001 to 1); the red line `
    + "marks the level drawn." });
  const fieldCaption = h("p", { class: "pxd-caption", text: "Blue outline: the pixels the current pixel "
    + "(orange) can see, its exact receptive field; pale blue: not drawn yet." });

  // --- the completion canvas
  const examples = get("examples"), nEx = examples.length / (H * W);
  const pad = h("canvas", { width: String(W), height: String(H), role: "img", class: "pxd-pad",
                            "aria-label": "Your digit: draw with the mouse, shift or right button to erase",
                            style: `width:${W * SCALE}px;height:${H * SCALE}px;cursor:crosshair` });
  const padLevels = new Int32Array(H * W);
  const rowInput = h("input", { type: "number", min: "1", max: String(H - 1), value: String(H >> 1), name: "keep",
                                id: `pxd-r-${Math.random().toString(36).slice(2)}` });
  const rowBox = h("span", {}, h("label", { for: rowInput.id, text: "Keep rows above" }), rowInput);
  const exampleBox = select("example", "Start from test digit",
    [["", "choose…"], ...Array.from({ length: nEx }, (_, k) => [k, `a ${get("example_labels")[k]}, bottom erased`])],
    (v) => { if (v !== "") loadExample(+v); });
  const clearBtn = h("button", { type: "button", text: "Clear" });
  const completeBtn = h("button", { type: "button", text: "Complete it" });

  root.append(
    h("div", { class: "pxd-row" }, classBox.box, tempBox, speedBox.box),
    h("div", { class: "pxd-row" }, seedBox, drawBtn, repeatBtn, finishBtn),
    h("div", { class: "pxd-panels" }, stack, h("div", { style: `max-width:${distW + 20}px` }, dist, distCaption, fieldCaption)),
    status,
    h("h4", { text: "Draw a digit and let the model finish it" }),
    h("div", { class: "pxd-row" }, exampleBox.box, rowBox, clearBtn, completeBtn),
    pad);
  el.append(root);

  const ictx = image.getContext("2d"), octx = overlay.getContext("2d"), dctx = dist.getContext("2d");
  const pctx = pad.getContext("2d");
  let net = null, drawing = null, frame = null, shown = new Int32Array(H * W);
  const fieldSettings = get("field");
  const fieldAt = (i, j) => analyticField({ ...fieldSettings, target: [i, j], imageSize: [H, W] });

  function showPad() { paint(pctx, padLevels, H, W, L, H * W); }
  function loadExample(k) {
    const keep = +rowInput.value;
    for (let p = 0; p < H * W; p++) padLevels[p] = p < keep * W ? examples[k * H * W + p] : 0;
    label = get("example_labels")[k];
    if (classes) classBox.input.value = String(label);
    showPad();
  }
  let painting = 0;
  const strokeAt = (ev) => {
    const r = pad.getBoundingClientRect();
    const j = Math.floor(((ev.clientX - r.left) / r.width) * W), i = Math.floor(((ev.clientY - r.top) / r.height) * H);
    const value = painting < 0 ? 0 : L - 1;
    for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
      const a = i + di, b = j + dj;
      if (a < 0 || a >= H || b < 0 || b >= W) continue;
      const soft = di === 0 && dj === 0 ? value : Math.round(value * 0.6);
      padLevels[a * W + b] = painting < 0 ? 0 : Math.max(padLevels[a * W + b], soft);
    }
    showPad();
  };
  pad.addEventListener("contextmenu", (ev) => ev.preventDefault());
  pad.addEventListener("pointerdown", (ev) => {
    painting = ev.button === 2 || ev.shiftKey ? -1 : 1;
    pad.setPointerCapture?.(ev.pointerId);
    strokeAt(ev);
  });
  pad.addEventListener("pointermove", (ev) => { if (painting) strokeAt(ev); });
  pad.addEventListener("pointerup", () => { painting = 0; });
  clearBtn.addEventListener("click", () => { padLevels.fill(0); showPad(); });

  function last(step) {
    const { i, j } = step;
    shown = drawing.runner.x;
    paint(ictx, shown, H, W, L, drawing.position);
    const field = fieldAt(i, j);
    outlineField(octx, field, [i, j], H, W);
    plotDistribution(dctx, step.probs, step.level, distW, distH);
    let seen = 0;
    for (const f of field) seen += f;
    Object.assign(root.dataset, { pixels: String(drawing.position), current: `${i},${j}`, field: String(seen),
                                  level: String(step.level) });
    status.textContent = drawing.done
      ? `Done: ${H * W} of ${H * W} pixels, class ${classes ? drawing.label : "any"}, seed ${drawing.seed}, `
        + `temperature ${drawing.temperature}.`
      : `Pixel ${drawing.position} of ${H * W} (row ${i}, column ${j}): it sees ${seen} earlier pixels.`;
  }
  function run(batch) {
    let step = null;
    for (let k = 0; k < batch && !drawing.done; k++) {
      step = drawing.step();
      while (step.kept && !drawing.done) step = drawing.step();  // kept pixels cost no frame
    }
    if (step && !step.kept) last(step);
    if (drawing.done) { frame = null; finishBtn.disabled = true; model.set("last_image", Array.from(drawing.runner.x));
                        model.save_changes(); return; }
    frame = requestAnimationFrame(() => run(speed));
  }
  function start({ seed, init = null, start: from = 0 }) {
    if (!net) return;
    if (frame) cancelAnimationFrame(frame);
    const t = parseFloat(temp.value);
    if (!(t > 0)) { status.textContent = "Temperature must be a number above 0."; return; }
    seedInput.value = String(seed);
    drawing = new Drawing(net, { H, W, label, temperature: t, seed, init, start: from });
    Object.assign(drawing, { label, seed });
    finishBtn.disabled = false;
    run(speed);
  }
  drawBtn.addEventListener("click", () => start({ seed: Math.floor(Math.random() * 1e6) }));
  repeatBtn.addEventListener("click", () => start({ seed: Math.max(0, parseInt(seedInput.value, 10) || 0) }));
  finishBtn.addEventListener("click", () => { if (drawing) run(H * W); });
  completeBtn.addEventListener("click", () => {
    const keep = Math.min(Math.max(parseInt(rowInput.value, 10) || 1, 1), H - 1);
    start({ seed: Math.floor(Math.random() * 1e6), init: Int32Array.from(padLevels), start: keep * W });
  });

  paint(ictx, shown, H, W, L, 0);
  plotDistribution(dctx, null, 0, distW, distH);
  showPad();
  try {
    net = buildModel(get("spec"), floats(get("weights")));
    status.textContent = "Ready: press Draw.";
    root.dataset.ready = "1";
  } catch (err) {
    status.textContent = `The model could not be loaded: ${err.message}`;
    console.error(err);
  }
  return () => { if (frame) cancelAnimationFrame(frame); };
}

export default { render };
