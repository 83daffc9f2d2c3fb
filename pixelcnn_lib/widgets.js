// The views of pixelcnn_lib/widgets.py (anywidget ES module). Everything a reader can change
// is computed here, in the browser, so the widgets stay interactive in the static book where no
// Python kernel runs. widgets.py inlines field.js and dom.js in place of the imports below.
import { KIND, causalMask, classify, layerDilations } from "./field.js";
import { CHANNELS, COLOURS, addStyle, cellSize, h, legend, numberInput, pixelGrid, plural, select } from "./dom.js";

const CSS = `
.pxw { font: 14px/1.4 system-ui, sans-serif; color: #222; max-width: 44rem; }
.pxw-controls { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; margin-bottom: .5rem; }
.pxw-controls label { font-weight: 600; margin-right: .3rem; }
.pxw-controls select, .pxw-controls input { font: inherit; }
.pxw-controls input[type=number] { width: 3.5em; }
.pxw-controls [hidden] { display: none; }
.pxw-grid { display: grid; gap: 1px; background: #999; border: 1px solid #999; width: max-content; cursor: crosshair; }
.pxw-grid:focus { outline: 3px solid #CC79A7; outline-offset: 2px; }
.pxw-cell { width: var(--cell); height: var(--cell); background: #fff; box-sizing: border-box; }
.pxw-cell[data-kind="0"] { background: ${COLOURS.future}; }
.pxw-cell[data-kind="1"] { background: ${COLOURS.unreached}; }
.pxw-cell[data-kind="2"] { background: ${COLOURS.seen}; }
.pxw-cell[data-kind="3"] { background: repeating-linear-gradient(45deg, ${COLOURS.blind} 0 3px, #f6d28f 3px 5px); }
.pxw-cell[data-kind="4"] { background: ${COLOURS.target}; box-shadow: inset 0 0 0 2px #fff; }
.pxw-heat .pxw-cell[data-kind="0"] { background-image: repeating-linear-gradient(45deg, transparent 0 3px, #ddd 3px 4px); }
.pxw-heat .pxw-cell[data-kind="3"] { background-image: repeating-linear-gradient(45deg, transparent 0 3px, ${COLOURS.blind} 3px 5px); }
.pxw-heat .pxw-cell[data-kind="4"] { background: ${COLOURS.target}; }
.pxw-status { margin: .5rem 0; min-height: 1.4em; }
.pxw-legend { display: flex; flex-wrap: wrap; gap: .2rem 1rem; padding: 0; margin: .3rem 0; list-style: none; font-size: 13px; }
.pxw-legend .pxw-cell { display: inline-block; vertical-align: middle; margin-right: .3rem; border: 1px solid #999; --cell: 14px; }
.pxw-caption { font-size: 13px; color: #444; margin: .3rem 0 0; }
.pxw-row { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.pxw-mask { --cell: 30px; }
.pxw-mask .pxw-cell { display: flex; align-items: center; justify-content: center; font-size: 12px; }
.pxw-mask .pxw-cell[data-on="1"] { background: ${COLOURS.seen}; color: #fff; }
.pxw-mask .pxw-cell[data-on="0"] { background: #fff; color: #888; }
.pxw-mask .pxw-cell[data-on="partial"] { background: linear-gradient(135deg, ${COLOURS.seen} 50%, #fff 50%); }
.pxw-mask .pxw-centre { box-shadow: inset 0 0 0 3px #000; }
.pxw-taps { border-collapse: collapse; font-size: 13px; }
.pxw-taps th, .pxw-taps td { border: 1px solid #999; padding: .15rem .5rem; text-align: center; }
.pxw-taps td[data-on="1"] { background: ${COLOURS.seen}; color: #fff; }
.pxw-taps caption { caption-side: bottom; text-align: left; font-size: 12px; color: #444; max-width: 16rem; }
.pxw-image { image-rendering: pixelated; border: 1px solid #999; }
`;

// --- ReceptiveFieldExplorer ----------------------------------------------------------------

/** The analytic_field settings for the widget's state (widgets.py: ReceptiveFieldExplorer.settings). */
export function explorerSettings(get) {
  const arch = get("arch"), n = get("n_layers"), k = get("kernel_size"), gated = arch === "gated";
  const cycle = get("dilation_cycle");
  return {
    arch: gated ? "two_stacks" : arch, nLayers: n, kernelSize: k,
    causalKernelSize: gated ? get("causal_kernel_size") : k,
    dilations: gated ? Array.from({ length: n - 1 }, (_, l) => cycle[l % cycle.length]) : layerDilations(n),
    imageSize: get("image_size"), target: get("target"),
    channel: get("channel"), nChannels: get("n_channels"),
  };
}

function renderField({ model, el }) {
  const get = (k) => model.get(k);
  const save = (changes) => { for (const [k, v] of Object.entries(changes)) model.set(k, v); model.save_changes(); };
  const minLayers = (arch) => (arch === "masked" ? 1 : 2);

  const arch = select("arch", "Architecture", [
    ["masked", "masked stack (PixelCNN)"], ["two_stacks", "vertical + horizontal stacks"],
    ["gated", "gated model (causal kernel, dilations)"]],
    (v) => save({ arch: v, n_layers: Math.max(get("n_layers"), minLayers(v)) }));
  const layers = numberInput("layers", "Layers", { min: 1, max: get("max_layers"), step: 1 },
    (v) => save({ n_layers: v }), "range");
  const kernel = select("kernel", "Kernel", [1, 3, 5, 7].map((k) => [k, `${k}×${k}`]),
    (v) => save({ kernel_size: +v }));
  const causal = select("causal", "First-layer kernel", [1, 3, 5, 7].map((k) => [k, `${k}×${k}`]),
    (v) => save({ causal_kernel_size: +v }));
  const dil = select("dilations", "Dilations", [["1", "none"], ["1,2", "1, 2, 1, 2, …"],
    ["1,2,4", "1, 2, 4, …"], ["1,2,4,8", "1, 2, 4, 8, …"]],
    (v) => save({ dilation_cycle: v.split(",").map(Number) }));
  const resize = (H, W) => {
    const [i, j] = get("target");
    save({ image_size: [H, W], target: [Math.min(i, H - 1), Math.min(j, W - 1)] });
  };
  const rows = numberInput("rows", "Rows", { min: 1, max: 32 }, (v) => resize(Math.min(Math.max(v, 1), 32), get("image_size")[1]));
  const cols = numberInput("cols", "Columns", { min: 1, max: 32 }, (v) => resize(get("image_size")[0], Math.min(Math.max(v, 1), 32)));
  const chan = select("channel", "Output", [["grey", "greyscale"], ["0", "RGB: red"], ["1", "RGB: green"], ["2", "RGB: blue"]],
    (v) => save(v === "grey" ? { n_channels: 1, channel: 0 } : { n_channels: 3, channel: +v }));

  const grid = pixelGrid("Image grid: click a pixel, or use the arrow keys, to choose the target pixel",
    (t) => save({ target: t }));
  const status = h("p", { class: "pxw-status", role: "status", "aria-live": "polite" });
  const root = h("figure", { class: "pxw pxw-field", role: "group", "aria-label": "Receptive-field explorer" },
    h("div", { class: "pxw-controls" }, arch.box, layers.box, kernel.box, causal.box, dil.box, rows.box, cols.box, chan.box),
    grid.grid, status,
    legend([[KIND.target, "target pixel"], [KIND.seen, "visible (can influence the target)"],
            [KIND.blind, "blind spot: earlier, nearby, never seen"], [KIND.unreached, "earlier, out of reach"],
            [KIND.future, "future (not yet generated)"]]),
    h("figcaption", { class: "pxw-caption", text: "Which earlier pixels can reach the prediction for the " +
      "target pixel, computed from the kernel shapes by walking back through the layers. " +
      "Move the layer slider to watch the field grow; in the masked stack the blind spot grows with it." }));
  addStyle(el, "pxw-style", CSS);
  el.replaceChildren(root);

  function draw() {
    const s = explorerSettings(get), [H, W] = s.imageSize, gated = get("arch") === "gated";
    arch.input.value = get("arch");
    layers.input.min = String(minLayers(get("arch")));
    layers.input.max = String(get("max_layers"));
    layers.input.value = String(s.nLayers);
    layers.out.value = String(s.nLayers);
    kernel.input.value = String(s.kernelSize);
    causal.input.value = String(get("causal_kernel_size"));
    dil.input.value = get("dilation_cycle").join(",");
    causal.box.hidden = dil.box.hidden = !gated;
    rows.input.value = String(H);
    cols.input.value = String(W);
    chan.input.value = s.nChannels > 1 ? String(s.channel) : "grey";

    const { kinds, counts } = classify(s);
    grid.resize([H, W], cellSize([H, W]));
    grid.setTarget(s.target);
    grid.cells.forEach((c, p) => { c.dataset.kind = String(kinds[p]); });
    for (const [k, v] of Object.entries({ arch: s.arch, nLayers: s.nLayers, kernelSize: s.kernelSize,
      causalKernelSize: s.causalKernelSize, dilations: s.dilations.join(","), imageSize: s.imageSize.join(","),
      target: s.target.join(","), channel: s.channel, nChannels: s.nChannels, counts: JSON.stringify(counts) }))
      root.dataset[k] = String(v);
    const [i, j] = s.target, own = s.nChannels > 1 && s.channel > 0;
    status.textContent = `Pixel (row ${i}, column ${j})${s.nChannels > 1 ? `, channel ${CHANNELS[s.channel]},` : ""} ` +
      `sees ${counts.seen} of ${plural(counts.past, "earlier pixel")}; ${counts.blind} in the blind spot, ` +
      `${counts.unreached} out of reach${own ? `; it also reads the earlier colour channel${s.channel > 1 ? "s" : ""} of its own pixel` : ""}.`;
    grid.grid.setAttribute("aria-label", `Image grid, ${H} by ${W}. Target pixel row ${i}, column ${j}. ` +
      "Arrow keys move the target. " + status.textContent);
  }
  draw();
  root.dataset.ready = "1";
  const names = ["arch", "n_layers", "max_layers", "kernel_size", "causal_kernel_size", "dilation_cycle",
                 "image_size", "target", "channel", "n_channels"];
  for (const n of names) model.on(`change:${n}`, draw);
  return () => { for (const n of names) model.off(`change:${n}`, draw); };
}

// --- MaskExplorer ----------------------------------------------------------------------------

function renderMask({ model, el }) {
  const get = (k) => model.get(k);
  const save = (k, v) => { model.set(k, v); model.save_changes(); };
  const kernel = select("kernel", "Kernel", [1, 3, 5, 7].map((k) => [k, `${k}×${k}`]), (v) => save("kernel_size", +v));
  const type = select("type", "Mask type", [["A", "A (first layer)"], ["B", "B (later layers)"]], (v) => save("mask_type", v));
  const colour = select("colour", "Image", [["grey", "greyscale"], ["rgb", "RGB"]], (v) => save("rgb", v === "rgb"));
  const spatial = h("div", { class: "pxw-grid pxw-mask", role: "img" });
  const taps = h("div");
  const status = h("p", { class: "pxw-status", role: "status", "aria-live": "polite" });
  const root = h("figure", { class: "pxw pxw-maskexplorer", role: "group", "aria-label": "Mask explorer" },
    h("div", { class: "pxw-controls" }, kernel.box, type.box, colour.box),
    h("div", { class: "pxw-row" }, spatial, taps), status,
    h("figcaption", { class: "pxw-caption", text: "The causal mask: filled taps may be read, empty ones are " +
      "zeroed (they lie in the future in raster order: row by row, left to right, then R, G, B within a pixel). " +
      "The outlined cell is the centre, the pixel being predicted." }));
  addStyle(el, "pxw-style", CSS);
  el.replaceChildren(root);

  function draw() {
    const k = get("kernel_size"), t = get("mask_type"), rgb = get("rgb"), c = (k - 1) / 2;
    const groups = rgb ? [0, 1, 2] : [0];
    const mask = causalMask(k, t, groups, groups);
    kernel.input.value = String(k);
    type.input.value = t;
    colour.input.value = rgb ? "rgb" : "grey";
    spatial.style.gridTemplateColumns = `repeat(${k}, var(--cell))`;
    const cells = [];
    let open = 0;
    for (let r = 0; r < k; r++) for (let s = 0; s < k; s++) {
      const centre = r === c && s === c, on = mask[0][0][r][s];
      const value = centre && rgb ? "partial" : String(on);
      open += !centre && on;
      cells.push(h("div", { class: `pxw-cell${centre ? " pxw-centre" : ""}`, "data-r": String(r), "data-c": String(s),
        "data-on": value, text: centre ? (rgb ? "c" : on ? "✓" : "✗") : on ? "✓" : "" }));
    }
    spatial.replaceChildren(...cells);
    spatial.setAttribute("aria-label", `${k} by ${k} mask of type ${t}: ${open} earlier taps open, ` +
      `${k * k - open - 1} future taps closed; centre ${rgb ? "per colour channel, see the table" : mask[0][0][c][c] ? "open" : "closed"}.`);
    root.dataset.kernelSize = String(k); root.dataset.maskType = t; root.dataset.rgb = String(rgb);
    if (rgb) {
      taps.replaceChildren(h("table", { class: "pxw-taps" },
        h("caption", { text: `Centre tap, mask ${t}: may the output channel (row) read the input channel (column) ` +
          "of the pixel being predicted?" }),
        h("tr", {}, h("th", { scope: "col", text: "out \\ in" }), ...CHANNELS.map((n) => h("th", { scope: "col", text: n }))),
        ...CHANNELS.map((n, o) => h("tr", {}, h("th", { scope: "row", text: n }),
          ...CHANNELS.map((m, i) => h("td", { "data-o": String(o), "data-i": String(i), "data-on": String(mask[o][i][c][c]),
            "aria-label": `${n} ${mask[o][i][c][c] ? "may" : "may not"} read ${m}`, text: mask[o][i][c][c] ? "✓" : "✗" }))))));
    } else taps.replaceChildren();
    status.textContent = rgb
      ? `Mask ${t}: ${t === "A" ? "G may read the current R, B may read R and G; R reads nothing of its own pixel" :
          "each channel may also read its own channel of the current pixel (through earlier layers that only summarise the past)"}.`
      : `Mask ${t}: the kernel reads ${plural(open, "earlier pixel")}${mask[0][0][c][c] ? " and the centre" : "; the centre is closed"}.`;
  }
  draw();
  root.dataset.ready = "1";
  for (const n of ["kernel_size", "mask_type", "rgb"]) model.on(`change:${n}`, draw);
  return () => { for (const n of ["kernel_size", "mask_type", "rgb"]) model.off(`change:${n}`, draw); };
}

// --- TrainedFieldView ------------------------------------------------------------------------

/** Bytes traits arrive as DataView (live and static), sometimes as ArrayBuffer or Uint8Array. */
function bytes(v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof DataView) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (v && v.buffer instanceof ArrayBuffer) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return new Uint8Array(0);
}

/**
 * The influence codes [targets * H * W]: the `influence` bytes, inflated when
 * `influence_encoding` is "deflate" (zlib, as Python's zlib.compress writes it).
 */
export async function inflate(data, encoding) {
  const raw = bytes(data);
  if (encoding !== "deflate") return raw;
  if (typeof DecompressionStream === "undefined")
    throw new Error("this browser has no DecompressionStream (needs Chrome 80, Firefox 113, Safari 16.4 or later)");
  const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** White for exactly zero, then light to dark blue with the log-scaled code 1..255. */
function heat(code) {
  if (!code) return "#ffffff";
  const a = (code - 1) / 254, lerp = (x, y) => Math.round(x + (y - x) * a);
  return `rgb(${lerp(232, 0)}, ${lerp(243, 84)}, ${lerp(250, 147)})`;
}

/** Inset lines on the sides of a field cell that border a cell outside the field. */
function outline(seen, p, H, W) {
  const i = Math.floor(p / W), j = p % W, out = (a, b) => a < 0 || a >= H || b < 0 || b >= W || !seen[a * W + b];
  const e = [];
  if (out(i - 1, j)) e.push("inset 0 2px 0 0 #000");
  if (out(i + 1, j)) e.push("inset 0 -2px 0 0 #000");
  if (out(i, j - 1)) e.push("inset 2px 0 0 0 #000");
  if (out(i, j + 1)) e.push("inset -2px 0 0 0 #000");
  return e.join(", ");
}

/**
 * The output pixel shown for a requested `target`, and its row in the shipped maps
 * (TrainedFieldView.shown): an extra target exactly, else the nearest pixel of the stride grid
 * (rounding half up). The grid's maps come first, row by row, then the extra targets' maps.
 */
export function trainedTarget(target, [H, W], stride, extras = []) {
  const nRows = Math.ceil(H / stride), nCols = Math.ceil(W / stride);
  const k = extras.findIndex(([a, b]) => a === target[0] && b === target[1]);
  if (k >= 0) return { target: [target[0], target[1]], index: nRows * nCols + k };
  const [i, j] = [Math.min(Math.round(target[0] / stride), nRows - 1), Math.min(Math.round(target[1] / stride), nCols - 1)];
  return { target: [i * stride, j * stride], index: i * nCols + j };
}

function renderTrained({ model, el }) {
  const get = (k) => model.get(k);
  const grid = pixelGrid("Influence map: click a pixel, or use the arrow keys, to choose the output pixel",
    ([i, j]) => { model.set("target", shown([i, j]).target); model.save_changes(); });
  const shown = (t) => trainedTarget(t, get("image_size"), get("stride"), get("extra_targets") || []);
  const canvas = h("canvas", { class: "pxw-image", role: "img", "aria-label": "The input image" });
  const status = h("p", { class: "pxw-status", role: "status", "aria-live": "polite" });
  const root = h("figure", { class: "pxw pxw-trained", role: "group", "aria-label": "Measured influence of each input pixel" },
    h("div", { class: "pxw-row" }, h("div", { class: "pxw-heat" }, grid.grid), canvas), status,
    h("ul", { class: "pxw-legend", "aria-label": "Legend" },
      h("li", {}, h("span", { class: "pxw-cell", style: `background:${heat(255)}`, "aria-hidden": "true" }), "strong influence"),
      h("li", {}, h("span", { class: "pxw-cell", style: `background:${heat(1)}`, "aria-hidden": "true" }), "weak (log scale)"),
      h("li", {}, h("span", { class: "pxw-cell", style: "background:#fff", "aria-hidden": "true" }), "none"),
      h("li", {}, h("span", { class: "pxw-cell", style: "box-shadow: inset 0 0 0 2px #000", "aria-hidden": "true" }), "analytic field outline"),
      h("li", {}, h("span", { class: "pxw-cell", "data-kind": String(KIND.blind), "aria-hidden": "true" }), "analytic blind spot"),
      h("li", {}, h("span", { class: "pxw-cell", "data-kind": String(KIND.target), "aria-hidden": "true" }), "output pixel")),
    h("figcaption", { class: "pxw-caption", text: get("title") || "Exact gradient magnitude of the trained model's " +
      "log-likelihood at the output pixel with respect to each input pixel, next to the field the kernel shapes allow." }));
  addStyle(el, "pxw-style", CSS);
  el.replaceChildren(root);
  let all = null, failure = null;  // the decoded codes, once inflated

  function draw() {
    if (!all) {
      status.textContent = failure ? `Cannot show the influence maps: ${failure}.` : "Decoding the influence maps…";
      return;
    }
    const [H, W] = get("image_size"), s = get("stride");
    const { target, index: t } = shown(get("target")), [i, j] = target;
    const codes = all.subarray(t * H * W, (t + 1) * H * W);
    const settings = { arch: get("arch"), nLayers: get("n_layers"), kernelSize: get("kernel_size"),
      causalKernelSize: get("causal_kernel_size"), dilations: get("dilations"), imageSize: [H, W], target,
      channel: get("channel"), nChannels: get("n_channels") };
    const { seen, kinds, counts } = classify(settings);
    grid.resize([H, W], cellSize([H, W], 280));
    grid.setTarget(target, s);
    let used = 0, outside = 0;
    grid.cells.forEach((c, p) => {
      const code = codes[p] || 0;
      c.dataset.kind = String(kinds[p]);
      c.dataset.code = String(code);
      c.style.backgroundColor = kinds[p] === KIND.target ? COLOURS.target : heat(code);
      c.style.boxShadow = seen[p] ? outline(seen, p, H, W) : "";
      used += code > 0;
      outside += code > 0 && !seen[p];
    });
    Object.assign(root.dataset, { arch: settings.arch, nLayers: settings.nLayers, kernelSize: settings.kernelSize,
      causalKernelSize: settings.causalKernelSize, dilations: (settings.dilations || []).join(","),
      imageSize: `${H},${W}`, target: target.join(","), channel: settings.channel, nChannels: settings.nChannels,
      stride: s, counts: JSON.stringify({ ...counts, used, outside }) });
    const max = (get("maxima") || [])[t];
    status.textContent = `Output pixel (row ${i}, column ${j}): ${plural(used, "input pixel")} move its log-likelihood` +
      `${max ? ` (largest |gradient| ${max.toPrecision(2)})` : ""}; the analytic field allows ${counts.seen}, ` +
      `blind spot ${counts.blind}; influence outside the field: ${outside}.`;
    grid.grid.setAttribute("aria-label", `Influence map, ${H} by ${W}. Output pixel row ${i}, column ${j}. ` +
      "Arrow keys move it. " + status.textContent);
    // The input image, with the output pixel marked.
    const img = bytes(get("image")), C = get("n_channels");
    canvas.width = W; canvas.height = H;
    canvas.style.width = `${W * cellSize([H, W], 200)}px`;
    const ctx = canvas.getContext("2d");
    if (ctx && img.length === C * H * W) {
      const data = ctx.createImageData(W, H);
      for (let p = 0; p < H * W; p++)
        for (let q = 0; q < 3; q++) data.data[4 * p + q] = img[C === 3 ? q * H * W + p : p];
      for (let p = 0; p < H * W; p++) data.data[4 * p + 3] = 255;
      ctx.putImageData(data, 0, 0);
      ctx.fillStyle = COLOURS.blind;
      ctx.fillRect(j, i, 1, 1);
    }
  }
  const load = () => inflate(get("influence"), get("influence_encoding")).then(
    (codes) => { all = codes; failure = null; draw(); root.dataset.ready = "1"; },
    (err) => { all = null; failure = err.message; draw(); console.error("TrainedFieldView:", err); });
  draw();
  load();
  model.on("change:target", draw);
  model.on("change:influence", load);
  return () => { model.off("change:target", draw); model.off("change:influence", load); };
}

const VIEWS = { field: renderField, mask: renderMask, trained: renderTrained };

export default {
  render({ model, el }) {
    return VIEWS[model.get("_pxw_view")]({ model, el });
  },
};
