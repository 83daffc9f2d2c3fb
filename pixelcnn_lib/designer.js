// The view of pixelcnn_lib/designer.py (MaskDesigner), and its exact computation: which input
// (sub-)pixels reach one output through n layers of a mask the reader draws, and which of them
// leak the future. Everything runs here, in the browser, so the widget works in the static book
// with no kernel; tests/test_designer_js.py holds it equal to dependency_map on the model built
// from the same mask. designer.py inlines field.js and dom.js in place of the imports below.
import { blindSpot, checkKernelSize } from "./field.js";
import { CHANNELS, COLOURS, addStyle, cellSize, checkbox, h, numberInput, pixelGrid, plural, select } from "./dom.js";

// What an input value is, seen from the target: field.js KIND plus "leak".
export const DESIGN_KIND = { future: 0, unreached: 1, seen: 2, blind: 3, target: 4, leak: 5 };
export const PRESETS = ["A", "B", "clear", "full"];

/** k*k taps (row by row) of a preset: A = strictly earlier pixels, B = A + centre, clear, full. */
export function presetTaps(name, k) {
  checkKernelSize(k);
  const c = (k * k - 1) / 2;
  return Array.from({ length: k * k }, (_, p) =>
    name === "full" ? 1 : name === "clear" ? 0 : +(p < c || (p === c && name === "B")));
}

/** The centre tap's 3x3 channel table [out * 3 + in] of a preset (A: out > in, B: out >= in). */
export function presetTable(name) {
  return Array.from({ length: 9 }, (_, p) => {
    const o = Math.floor(p / 3), i = p % 3;
    return name === "full" ? 1 : name === "clear" ? 0 : +(name === "A" ? o > i : o >= i);
  });
}

/** Taps for a new kernel size: the same preset if they were one, else cropped/padded centred. */
export function resizeTaps(taps, kOld, kNew) {
  const same = PRESETS.find((n) => presetTaps(n, kOld).every((v, p) => v === taps[p]));
  if (same) return presetTaps(same, kNew);
  const d = (kNew - kOld) / 2;
  return Array.from({ length: kNew * kNew }, (_, p) => {
    const r = Math.floor(p / kNew) - d, s = (p % kNew) - d;
    return r >= 0 && r < kOld && s >= 0 && s < kOld ? taps[r * kOld + s] : 0;
  });
}

/** The settings a MaskDesigner's state stands for (designer.py: MaskDesigner.settings). */
export function designerSettings(get) {
  return { kernelSize: get("kernel_size"), taps: get("taps"), table: get("channel_taps"), rgb: get("rgb"),
           nLayers: get("n_layers"), allAsDesigned: get("all_as_designed"), imageSize: get("image_size"),
           target: get("target"), channel: get("channel") };
}

/**
 * Each layer's mask [out][in][k][k] over colour groups (one group for greyscale): layer 1 as
 * designed; later layers the same with the centre opened as type B (out >= in added), unless
 * `allAsDesigned` (designer.py: layer_masks).
 */
export function designerMasks({ kernelSize: k, taps, table, rgb, nLayers, allAsDesigned }) {
  const G = rgb ? 3 : 1, c = (k * k - 1) / 2;
  const layer = (open) => Array.from({ length: G }, (_, o) => Array.from({ length: G }, (_, i) =>
    Array.from({ length: k }, (_, r) => Array.from({ length: k }, (_, s) => {
      const p = r * k + s;
      if (p !== c) return taps[p];
      return +((rgb ? table[o * 3 + i] : taps[c]) || (open && o >= i));
    }))));
  return Array.from({ length: nLayers }, (_, l) => layer(l > 0 && !allAsDesigned));
}

/** 0/1 [G * H * W] (channel-major): the inputs that reach output (channel, target) through `masks`. */
export function reachOf(masks, [H, W], [ti, tj], channel) {
  const G = masks[0].length, k = masks[0][0][0].length, R = (k - 1) / 2, HW = H * W;
  let need = new Uint8Array(G * HW);
  need[channel * HW + ti * W + tj] = 1;
  for (let l = masks.length - 1; l >= 0; l--) {
    const m = masks[l], next = new Uint8Array(G * HW);
    for (let o = 0; o < G; o++) for (let p = 0; p < HW; p++) {
      if (!need[o * HW + p]) continue;
      const i = Math.floor(p / W), j = p % W;
      for (let r = 0; r < k; r++) for (let s = 0; s < k; s++) {
        const a = i + r - R, b = j + s - R;
        if (a < 0 || a >= H || b < 0 || b >= W) continue;
        for (let g = 0; g < G; g++) if (m[o][g][r][s]) next[g * HW + a * W + b] = 1;
      }
    }
    need = next;
  }
  return need;
}

/** The verdict line (designer.py: verdict). */
export function verdict({ leaks, blind }, rgb) {
  if (leaks) return `leaks ${plural(leaks, rgb ? "future sub-pixel" : "future pixel")}: the model could cheat`;
  return blind ? `causal, blind spot of ${plural(blind, "pixel")}` : "causal";
}

/**
 * Everything the widget draws (designer.py: design_field): the reach, a DESIGN_KIND per value
 * [G * H * W], the counts (past and field: earlier values, leaks: values at or after the target
 * in raster/channel order, blind: receptive.blind_spot pixels) and the verdict.
 */
export function designerField(s) {
  const [H, W] = s.imageSize, [ti, tj] = s.target, G = s.rgb ? 3 : 1, HW = H * W;
  if (!(ti >= 0 && ti < H && tj >= 0 && tj < W)) throw new Error(`target (${ti}, ${tj}) lies outside a ${H}x${W} image.`);
  if (!(s.channel >= 0 && s.channel < G)) throw new Error(`channel ${s.channel} out of range for ${G} channel(s).`);
  const reach = reachOf(designerMasks(s), [H, W], [ti, tj], s.channel);
  const t = (ti * W + tj) * G + s.channel, order = (g, p) => p * G + g;
  const seen = new Uint8Array(HW);
  for (let g = 0; g < G; g++) for (let p = 0; p < HW; p++) if (reach[g * HW + p] && order(g, p) < t) seen[p] = 1;
  const blind = blindSpot(seen, [ti, tj], [H, W]), K = DESIGN_KIND;
  const kinds = reach.map((r, q) => {
    const g = Math.floor(q / HW), p = q % HW, n = order(g, p);
    if (n === t) return r ? K.leak : K.target;
    if (n > t) return r ? K.leak : K.future;
    return r ? K.seen : blind[p] ? K.blind : K.unreached;
  });
  const count = (kind) => kinds.reduce((n, v) => n + (v === kind), 0);
  const counts = { past: t, field: count(K.seen), leaks: count(K.leak), blind: blind.reduce((a, b) => a + b, 0) };
  return { reach, kinds, counts, verdict: verdict(counts, s.rgb) };
}

// --- the view ----------------------------------------------------------------------------------

const K = DESIGN_KIND;
const hatch = (colour, light) => `repeating-linear-gradient(45deg, ${colour} 0 3px, ${light} 3px 5px)`;
const CSS = `
.pxd { font: 14px/1.4 system-ui, sans-serif; color: #222; max-width: 100%; }
.pxd .pxw-controls { display: flex; flex-wrap: wrap; gap: .3rem 1rem; align-items: center; margin-bottom: .4rem; }
.pxd label { font-weight: 600; margin: 0 .3rem; }
.pxd select, .pxd input, .pxd button { font: inherit; }
.pxd input[type=number] { width: 3.2em; }
.pxd [hidden] { display: none !important; }
.pxd-row { display: flex; flex-wrap: wrap; gap: .8rem 1.2rem; align-items: flex-start; }
.pxd-panel h4 { font-size: 14px; margin: 0 0 .3rem; }
.pxd-presets { display: flex; gap: .3rem; margin-bottom: .4rem; flex-wrap: wrap; }
.pxd-presets button { font-size: 13px; padding: .1rem .5rem; }
.pxd-taps { display: grid; gap: 2px; width: max-content; padding: 2px; background: #999; }
.pxd-tap { width: var(--tap); height: var(--tap); border: 0; padding: 0; background: #fff; color: #777; font-size: 13px; cursor: pointer; }
.pxd-tap.pxd-future[data-on="0"] { background: repeating-linear-gradient(135deg, #fff 0 4px, #e4e4e4 4px 6px); }
.pxd-tap[data-on="1"] { background: ${COLOURS.seen}; color: #fff; }
.pxd-tap[data-on="1"].pxd-future, .pxd-tab button[data-on="1"].pxd-future { background: ${COLOURS.leak}; color: #fff; }
.pxd-tap[data-on="partial"] { background: linear-gradient(135deg, ${COLOURS.seen} 50%, #fff 50%); color: #000; }
.pxd-tap.pxd-centre { box-shadow: inset 0 0 0 3px #000; }
.pxd-tap:focus, .pxd-tab button:focus, .pxd .pxw-grid:focus { outline: 3px solid #CC79A7; outline-offset: 1px; }
.pxd-tab { border-collapse: collapse; font-size: 13px; margin-top: .4rem; }
.pxd-tab th, .pxd-tab td { border: 1px solid #999; padding: 0; text-align: center; min-width: 1.8rem; }
.pxd-tab button { width: 100%; min-height: 1.6rem; border: 0; background: #fff; color: #555; cursor: pointer; }
.pxd-tab button[data-on="1"] { background: ${COLOURS.seen}; color: #fff; }
.pxd-tab caption { caption-side: bottom; text-align: left; font-size: 12px; color: #444; max-width: 14rem; }
.pxd .pxw-grid { display: grid; gap: 1px; background: #999; border: 1px solid #999; width: max-content; cursor: crosshair; }
.pxd .pxw-cell { width: var(--cell); height: var(--cell); box-sizing: border-box; display: flex; }
.pxd-sub { flex: 1; }
.pxd [data-kind="${K.future}"] { background: ${COLOURS.future}; }
.pxd [data-kind="${K.unreached}"] { background: ${COLOURS.unreached}; }
.pxd [data-kind="${K.seen}"] { background: ${COLOURS.seen}; }
.pxd [data-kind="${K.blind}"] { background: ${hatch(COLOURS.blind, "#f6d28f")}; }
.pxd [data-kind="${K.target}"] { background: ${COLOURS.target}; }
.pxd [data-kind="${K.leak}"] { background: ${COLOURS.leak} ${hatch("transparent", "rgba(255,255,255,.55)")}; }
.pxd .pxw-cell[data-target="1"] { outline: 3px solid #000; outline-offset: -3px; }
.pxd-verdict { margin: .5rem 0 .2rem; font-size: 15px; }
.pxd-verdict strong[data-leaks="1"] { color: ${COLOURS.leak}; }
.pxd .pxw-status { margin: .2rem 0; font-size: 13px; }
.pxd .pxw-legend { display: flex; flex-wrap: wrap; gap: .2rem 1rem; padding: 0; margin: .3rem 0; list-style: none; font-size: 13px; }
.pxd .pxw-legend span { display: inline-block; width: 14px; height: 14px; vertical-align: middle; margin-right: .3rem; border: 1px solid #999; }
.pxd .pxw-caption { font-size: 13px; color: #444; margin: .3rem 0 0; }
`;

const offsetText = (dr, dc) => (dr || dc) ? `${dr ? `${Math.abs(dr)} ${dr < 0 ? "up" : "down"}` : ""}` +
  `${dr && dc ? ", " : ""}${dc ? `${Math.abs(dc)} ${dc < 0 ? "left" : "right"}` : ""}` : "centre";

function renderDesigner({ model, el }) {
  const get = (k) => model.get(k);
  const save = (changes) => { for (const [k, v] of Object.entries(changes)) model.set(k, v); model.save_changes(); };

  const kernel = select("kernel", "Kernel", [3, 5, 7].map((k) => [k, `${k}×${k}`]),
    (v) => save({ kernel_size: +v, taps: resizeTaps(get("taps"), get("kernel_size"), +v) }));
  const colour = select("colour", "Image", [["grey", "greyscale"], ["rgb", "RGB"]],
    (v) => save({ rgb: v === "rgb", channel: v === "rgb" ? get("channel") : 0 }));
  const layers = numberInput("layers", "Layers", { min: 1, max: get("max_layers"), step: 1 },
    (v) => save({ n_layers: v }), "range");
  const same = checkbox("same", "all layers as designed", (v) => save({ all_as_designed: v }));
  const resize = (H, W) => {
    const [i, j] = get("target");
    save({ image_size: [H, W], target: [Math.min(i, H - 1), Math.min(j, W - 1)] });
  };
  const clamp = (v) => Math.min(Math.max(v, 1), 16);
  const rows = numberInput("rows", "Rows", { min: 1, max: 16 }, (v) => resize(clamp(v), get("image_size")[1]));
  const cols = numberInput("cols", "Columns", { min: 1, max: 16 }, (v) => resize(get("image_size")[0], clamp(v)));
  const chan = select("channel", "Target colour", CHANNELS.map((n, c) => [c, n]), (v) => save({ channel: +v }));

  const presets = h("div", { class: "pxd-presets", role: "group", "aria-label": "Presets" },
    ...[["A", "Mask A"], ["B", "Mask B"], ["clear", "Clear"], ["full", "Full"]].map(([name, text]) => {
      const b = h("button", { type: "button", "data-preset": name, text });
      b.addEventListener("click", () => save({ taps: presetTaps(name, get("kernel_size")), channel_taps: presetTable(name) }));
      return b;
    }));
  const taps = h("div", { class: "pxd-taps", role: "group" });
  let focus = -1;  // the tap that holds the keyboard focus (roving tabindex)
  taps.addEventListener("click", (ev) => {
    const b = ev.target.closest(".pxd-tap");
    if (b) { focus = +b.dataset.p; toggle(focus); }
  });
  taps.addEventListener("keydown", (ev) => {
    const k = get("kernel_size"), moves = { ArrowUp: -k, ArrowDown: k, ArrowLeft: -1, ArrowRight: 1 };
    const p = focus < 0 ? (k * k - 1) / 2 : focus;
    if (!(ev.key in moves)) return;
    ev.preventDefault();
    const q = p + moves[ev.key];
    if (q < 0 || q >= k * k || (Math.abs(moves[ev.key]) === 1 && Math.floor(q / k) !== Math.floor(p / k))) return;
    focus = q;
    draw();
    taps.children[q].focus();
  });
  function toggle(p) {
    const k = get("kernel_size"), c = (k * k - 1) / 2;
    if (p === c && get("rgb")) {
      const table = get("channel_taps");
      save({ channel_taps: Array(9).fill(table.some((v) => v) ? 0 : 1) });
    } else save({ taps: get("taps").map((v, q) => (q === p ? 1 - v : v)) });
  }
  const table = h("table", { class: "pxd-tab" });
  table.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-o]");
    if (!b) return;
    const q = 3 * +b.dataset.o + +b.dataset.i;
    save({ channel_taps: get("channel_taps").map((v, n) => (n === q ? 1 - v : v)), channel: +b.dataset.o });
  });

  const grid = pixelGrid("Image: click a pixel, or use the arrow keys, to choose the target", ([i, j], cell) => {
    const changes = { target: [i, j] };
    if (cell && cell.dataset.c != null && get("rgb")) changes.channel = +cell.dataset.c;
    save(changes);
  });
  const verdictLine = h("p", { class: "pxd-verdict", role: "status", "aria-live": "polite" });
  const status = h("p", { class: "pxw-status" });
  const legendEntry = (kind, text, extra = "") =>
    h("li", {}, h("span", { "data-kind": String(kind), "aria-hidden": "true", style: extra }), text);
  const root = h("figure", { class: "pxd", role: "group", "aria-label": "Mask designer" },
    h("div", { class: "pxw-controls" }, kernel.box, colour.box, layers.box, same.box, rows.box, cols.box, chan.box),
    h("div", { class: "pxd-row" },
      h("div", { class: "pxd-panel" }, h("h4", { text: "Layer-1 mask" }), presets, taps, table),
      h("div", { class: "pxd-panel" }, h("h4", { text: "What reaches the target" }), grid.grid)),
    verdictLine, status,
    h("ul", { class: "pxw-legend", "aria-label": "Legend" },
      legendEntry(K.target, "target"), legendEntry(K.seen, "reaches the target (field)"),
      legendEntry(K.leak, "leak: at or after the target, yet reaches it"), legendEntry(K.blind, "blind spot"),
      legendEntry(K.unreached, "earlier, not reached"), legendEntry(K.future, "future, not reached")),
    h("figcaption", { class: "pxw-caption", text: "Draw the first layer's mask: click a tap, or move with the " +
      "arrow keys and press Space (filled taps are read; hatched " +
      "taps lie after the centre in raster order, and a filled one there reads the future). The stack repeats it " +
      "n times, the later layers with the centre open as in mask B unless all layers are as designed. In RGB a " +
      "pixel is three stripes R, G, B; the table is the centre tap per colour, and clicking an entry makes its " +
      "output colour the target's." }));
  addStyle(el, "pxd-style", CSS);
  el.replaceChildren(root);

  function draw() {
    const s = designerSettings(get), k = s.kernelSize, c = (k * k - 1) / 2, [H, W] = s.imageSize, R = (k - 1) / 2;
    kernel.input.value = String(k);
    colour.input.value = s.rgb ? "rgb" : "grey";
    layers.input.max = String(get("max_layers"));
    layers.input.value = layers.out.value = String(s.nLayers);
    same.input.checked = s.allAsDesigned;
    rows.input.value = String(H);
    cols.input.value = String(W);
    chan.input.value = String(s.channel);
    chan.box.hidden = !s.rgb;
    if (focus >= k * k) focus = c;

    taps.style.gridTemplateColumns = `repeat(${k}, var(--tap))`;
    taps.style.setProperty("--tap", k > 5 ? "28px" : "32px");
    const anyCentre = s.table.some((v) => v), allCentre = s.table.every((v) => v);
    const leakyCentre = s.table.some((v, q) => v && q % 3 >= Math.floor(q / 3));  // reads its own or a later colour
    const doc = el.ownerDocument || document, refocus = taps.contains(doc.activeElement), retab = table.contains(doc.activeElement);
    const tabFocus = retab ? doc.activeElement.dataset.o + doc.activeElement.dataset.i : null;
    taps.replaceChildren(...s.taps.map((on, p) => {
      const dr = Math.floor(p / k) - R, dc = (p % k) - R, centre = p === c;
      const state = centre && s.rgb ? (allCentre ? "1" : anyCentre ? "partial" : "0") : String(on);
      const label = `tap ${offsetText(dr, dc)}: ${state === "1" ? "read" : state === "0" ? "closed" : "partly read (see the table)"}` +
        `${p > c ? ", a future pixel" : centre ? ", the pixel being predicted" : ""}`;
      const future = p > c || (centre && (!s.rgb || leakyCentre));
      return h("button", { type: "button", class: `pxd-tap${centre ? " pxd-centre" : ""}${future ? " pxd-future" : ""}`,
        "data-p": String(p), "data-r": String(dr), "data-c": String(dc), "data-on": state,
        "aria-pressed": state === "partial" ? "mixed" : state === "1" ? "true" : "false", "aria-label": label,
        tabindex: p === (focus < 0 ? c : focus) ? "0" : "-1", text: centre && s.rgb ? (leakyCentre ? "!" : "c") : state === "1" ? (p >= c ? "!" : "✓") : centre ? "c" : "" });
    }));
    if (refocus) taps.children[focus < 0 ? c : focus].focus();
    taps.setAttribute("aria-label", `${k} by ${k} mask taps: arrow keys move, Space toggles`);
    table.hidden = !s.rgb;
    table.replaceChildren(
      h("caption", { text: "Centre tap per colour: may the row's colour read the column's at the pixel " +
        "being predicted? Orange-red: its own or a later colour." }),
      h("tr", {}, h("th", { scope: "col", text: "out \\ in" }), ...CHANNELS.map((n) => h("th", { scope: "col", text: n }))),
      ...CHANNELS.map((n, o) => h("tr", {}, h("th", { scope: "row", text: n }), ...CHANNELS.map((m, i) => {
        const on = s.table[3 * o + i];
        return h("td", {}, h("button", { type: "button", "data-o": String(o), "data-i": String(i), "data-on": String(on),
          class: i >= o ? "pxd-future" : null, "aria-pressed": on ? "true" : "false",
          "aria-label": `${n} ${on ? "reads" : "does not read"} ${m} of the current pixel`, text: on ? "✓" : "✗" }));
      }))));
    if (retab) table.querySelector(`button[data-o="${tabFocus[0]}"][data-i="${tabFocus[1]}"]`).focus();

    const { kinds, counts, verdict: text } = designerField(s), G = s.rgb ? 3 : 1, HW = H * W;
    grid.resize([H, W], cellSize([H, W], 300));
    grid.setTarget(s.target);
    grid.cells.forEach((cell, p) => {
      cell.dataset.target = p === s.target[0] * W + s.target[1] ? "1" : "0";
      if (!s.rgb) {
        cell.replaceChildren();
        cell.className = "pxw-cell pxd-val";
        cell.dataset.kind = String(kinds[p]);
        return;
      }
      cell.className = "pxw-cell";
      delete cell.dataset.kind;
      cell.replaceChildren(...[0, 1, 2].map((g) => h("span", { class: "pxd-sub pxd-val", "data-c": String(g),
        "data-kind": String(kinds[g * HW + p]) })));
    });
    const [ti, tj] = s.target, unit = s.rgb ? "sub-pixel" : "pixel";
    verdictLine.replaceChildren("Verdict: ", h("strong", { "data-leaks": counts.leaks ? "1" : "0", text }), ".");
    status.textContent = `Target (row ${ti}, column ${tj}${s.rgb ? `, ${CHANNELS[s.channel]}` : ""}), ` +
      `${plural(s.nLayers, "layer")}: ${counts.field} of ${plural(counts.past, `earlier ${unit}`)} reach it; ` +
      `blind spot ${plural(counts.blind, "pixel")}; ${plural(counts.leaks, "leak")}.`;
    grid.grid.setAttribute("aria-label", `Image, ${H} by ${W}: arrow keys move the target. ${status.textContent}`);
    Object.assign(root.dataset, { kernelSize: k, taps: s.taps.join(""), table: s.table.join(""), rgb: s.rgb,
      nLayers: s.nLayers, allAsDesigned: s.allAsDesigned, imageSize: `${H},${W}`, target: `${ti},${tj}`,
      channel: s.channel, counts: JSON.stringify(counts), verdict: text, groups: G });
  }
  draw();
  root.dataset.ready = "1";
  const names = ["kernel_size", "taps", "channel_taps", "rgb", "n_layers", "max_layers", "all_as_designed",
                 "image_size", "target", "channel"];
  for (const n of names) model.on(`change:${n}`, draw);
  return () => { for (const n of names) model.off(`change:${n}`, draw); };
}

export default { render: renderDesigner };
