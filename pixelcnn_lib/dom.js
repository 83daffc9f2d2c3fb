// The small DOM toolkit the widget views share (widgets.js, designer.js): Okabe–Ito colours,
// labelled form controls and the keyboard-usable pixel grid. No state, no drawing logic.

// Okabe–Ito colours (distinguishable with the common colour-vision deficiencies); every kind also
// has a second, non-colour cue (hatching, outline or text) and a legend entry.
export const COLOURS = { seen: "#0072B2", target: "#000000", blind: "#E69F00", unreached: "#c8c8c8",
                         future: "#ffffff", leak: "#D55E00" };
export const CHANNELS = ["R", "G", "B"];

let counter = 0;
const uid = (name) => `pxw-${name}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;

export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === "text") e.textContent = v;
    else if (k === "style") e.style.cssText = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...children.filter((c) => c != null));
  return e;
}

/** Add the style sheet `css` to the page once (under the element id `id`). */
export function addStyle(root, id, css) {
  const doc = root.ownerDocument || document;
  if (doc.getElementById(id)) return;
  doc.head.append(h("style", { id, text: css }));
}

/** A <label for> + <select> whose options are [value, text] pairs. */
export function select(name, label, options, onChange) {
  const id = uid(name);
  const input = h("select", { id, name },
    ...options.map(([v, t]) => h("option", { value: String(v), text: t })));
  input.addEventListener("change", () => onChange(input.value));
  return { input, box: h("span", {}, h("label", { for: id, text: label }), input) };
}

export function numberInput(name, label, attrs, onChange, type = "number") {
  const id = uid(name);
  const input = h("input", { id, name, type, ...attrs });
  const out = type === "range" ? h("output", { for: id }) : null;
  input.addEventListener(type === "range" ? "input" : "change", () => {
    const v = parseInt(input.value, 10);
    if (Number.isFinite(v)) onChange(v);
  });
  return { input, out, box: h("span", {}, h("label", { for: id, text: label }), input, out) };
}

export function checkbox(name, label, onChange) {
  const id = uid(name);
  const input = h("input", { id, name, type: "checkbox" });
  input.addEventListener("change", () => onChange(input.checked));
  return { input, box: h("span", {}, input, h("label", { for: id, text: label })) };
}

export function legend(entries) {
  return h("ul", { class: "pxw-legend", "aria-label": "Legend" }, ...entries.map(([kind, text]) =>
    h("li", {}, h("span", { class: "pxw-cell", "data-kind": String(kind), "aria-hidden": "true" }), text)));
}

/**
 * A focusable pixel grid: click or arrow keys pick the target; the caller paints the cells.
 * `onPick([i, j], element)` gets the clicked element (or null for a key), for sub-cells.
 */
export function pixelGrid(label, onPick) {
  const grid = h("div", { class: "pxw-grid", tabindex: "0", role: "application", "aria-label": label });
  let cells = [], size = [0, 0], px = 0, target = [0, 0], step = 1;
  grid.addEventListener("click", (ev) => {
    const cell = ev.target.closest(".pxw-cell");
    if (cell && grid.contains(cell)) onPick([+cell.dataset.i, +cell.dataset.j], ev.target);
  });
  grid.addEventListener("keydown", (ev) => {
    const [H, W] = size;
    let [i, j] = target;
    const moves = { ArrowUp: [-step, 0], ArrowDown: [step, 0], ArrowLeft: [0, -step], ArrowRight: [0, step] };
    if (moves[ev.key]) { i += moves[ev.key][0]; j += moves[ev.key][1]; }
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = W - 1;
    else if (ev.key === "PageUp") i = 0;
    else if (ev.key === "PageDown") i = H - 1;
    else return;
    ev.preventDefault();
    onPick([Math.min(Math.max(i, 0), H - 1), Math.min(Math.max(j, 0), W - 1)], null);
  });
  return {
    grid,
    resize([H, W], cellPx) {
      if (H === size[0] && W === size[1] && cellPx === px && cells.length) return;
      size = [H, W];
      px = cellPx;
      grid.style.gridTemplateColumns = `repeat(${W}, ${cellPx}px)`;
      grid.style.setProperty("--cell", `${cellPx}px`);
      cells = Array.from({ length: H * W }, (_, p) =>
        h("div", { class: "pxw-cell", "data-i": String(Math.floor(p / W)), "data-j": String(p % W) }));
      grid.replaceChildren(...cells);
    },
    setTarget(t, s = 1) { target = t; step = s; },
    get cells() { return cells; },
  };
}

export const cellSize = ([H, W], room = 320) => Math.max(6, Math.min(28, Math.floor(room / Math.max(H, W))));
export const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
