// Receptive fields and causal masks, in the browser: a line-by-line twin of
// pixelcnn_lib/receptive.py (analytic_field, past, blind_spot) and pixelcnn_lib/masks.py
// (causal_mask). Pure functions, no DOM: the widgets import it, and tests/test_widgets_js.py
// runs it under Node and checks it gives exactly the Python maps.
//
// Maps are Uint8Array(H * W) of 0/1 in raster order (index i * W + j).

export const ARCHITECTURES = ["masked", "two_stacks"];
// What each pixel is, seen from the target: the codes the widgets draw (and tests read back).
export const KIND = { future: 0, unreached: 1, seen: 2, blind: 3, target: 4 };

export function checkKernelSize(k, name = "kernel_size") {
  if (!Number.isInteger(k) || k < 1 || k % 2 === 0)
    throw new Error(`${name} must be an odd positive integer (got ${k}): a causal kernel is centred on the pixel being predicted.`);
  return k;
}

function checkMaskType(t) {
  if (t !== "A" && t !== "B") throw new Error(`mask_type must be 'A' or 'B' (got ${t}).`);
  return t;
}

// --- masks (masks.py) -------------------------------------------------------------------

/** Colour group of each of n channels: contiguous near-equal blocks, as channel_groups. */
export function channelGroups(n, nGroups) {
  if (nGroups > 1 && n < nGroups) throw new Error(`${n} channels cannot be split into ${nGroups} colour groups.`);
  return Array.from({ length: n }, (_, c) => Math.floor((c * nGroups) / n));
}

/** [out][in] 0/1: may output channel o read input channel i at the centre pixel? */
export function centreTap(inGroups, outGroups, maskType) {
  checkMaskType(maskType);
  return outGroups.map((go) => inGroups.map((gi) => +(maskType === "A" ? go > gi : go >= gi)));
}

/** [out][in][k][k] 0/1 mask of a centred square kernel, as causal_mask(k, type, in, out). */
export function causalMask(k, maskType, inGroups, outGroups) {
  checkKernelSize(k);
  const c = (k - 1) / 2, centre = centreTap(inGroups, outGroups, maskType);
  return outGroups.map((_, o) => inGroups.map((_, i) =>
    Array.from({ length: k }, (_, r) => Array.from({ length: k }, (_, s) =>
      r === c && s === c ? centre[o][i] : +(r < c || (r === c && s < c))))));
}

/** (drow, dcol) offsets a square masked kernel reads at pixel level, as spatial_offsets. */
export function spatialOffsets(k, maskType, d = 1) {
  checkKernelSize(k);
  checkMaskType(maskType);
  const r = (k - 1) / 2, offs = [];
  for (let di = -r; di <= 0; di++)
    for (let dj = -r; dj <= r; dj++) if (di < 0 || dj < 0) offs.push([di * d, dj * d]);
  if (maskType === "B") offs.push([0, 0]);
  return offs;
}

function verticalOffsets(k, d = 1) {
  const r = (k - 1) / 2, offs = [];
  for (let di = -r; di <= 0; di++) for (let dj = -r; dj <= r; dj++) offs.push([di * d, dj * d]);
  return offs;
}

function horizontalOffsets(k, maskType, d = 1) {
  const r = (k - 1) / 2, offs = [];
  for (let dj = maskType === "A" ? 1 : 0; dj <= r; dj++) offs.push([0, -dj * d]);
  return offs;
}

// --- the analytic walk (receptive.py) -------------------------------------------------------

/** Positions p + o inside the image, for p in `cells` and o in `offs`. */
function spread(cells, offs, H, W) {
  const out = new Uint8Array(H * W);
  for (let p = 0; p < H * W; p++) {
    if (!cells[p]) continue;
    const i = Math.floor(p / W), j = p % W;
    for (const [di, dj] of offs) {
      const a = i + di, b = j + dj;
      if (a >= 0 && a < H && b >= 0 && b < W) out[a * W + b] = 1;
    }
  }
  return out;
}

/** The row above each cell: the down-shift seen from its output side. */
function up(cells, H, W) {
  const out = new Uint8Array(H * W);
  for (let p = W; p < H * W; p++) if (cells[p]) out[p - W] = 1;
  return out;
}

const or = (a, b) => a.map((v, p) => v | b[p]);

/** Effective dilations: the explicit list, else 1 for each of the n_layers - 1 later layers. */
export function layerDilations(nLayers, dilations) {
  return dilations && dilations.length ? [...dilations] : Array(Math.max(nLayers - 1, 0)).fill(1);
}

/**
 * 0/1 map [H*W] of the pixels whose value can reach output (channel, target), from kernel
 * shapes alone: analytic_field(arch, target, image_size, n_layers, kernel_size,
 * causal_kernel_size, dilations, channel, n_channels).
 */
export function analyticField({ arch, target, imageSize, nLayers, kernelSize = 3,
                                causalKernelSize = null, dilations = null, channel = 0, nChannels = 1 }) {
  if (!ARCHITECTURES.includes(arch)) throw new Error(`arch must be one of ${ARCHITECTURES}, got ${arch}.`);
  const [H, W] = imageSize, [i0, j0] = target;
  if (!(i0 >= 0 && i0 < H && j0 >= 0 && j0 < W)) throw new Error(`target (${i0}, ${j0}) lies outside a ${H}x${W} image.`);
  checkKernelSize(kernelSize);
  const k1 = checkKernelSize(causalKernelSize || kernelSize, "causal_kernel_size");
  const dils = layerDilations(nLayers, dilations);
  const t = new Uint8Array(H * W);
  t[i0 * W + j0] = 1;
  let seen;
  if (arch === "masked") {
    let need = t;
    for (const d of [...dils].reverse()) need = spread(need, spatialOffsets(kernelSize, "B", d), H, W);
    seen = spread(need, spatialOffsets(k1, "A"), H, W);
  } else {
    let hNeed = new Uint8Array(H * W), vNeed = new Uint8Array(H * W);
    for (const d of [...dils].reverse()) {
      const gate = or(t, hNeed);                 // skip output, and the residual into h_out
      const vPre = or(up(gate, H, W), vNeed);    // the link reads the row above
      hNeed = or(hNeed, spread(gate, horizontalOffsets(kernelSize, "B", d), H, W));
      vNeed = spread(vPre, verticalOffsets(kernelSize, d), H, W);
    }
    seen = or(spread(hNeed, horizontalOffsets(k1, "A"), H, W),
              spread(or(up(hNeed, H, W), vNeed), verticalOffsets(k1), H, W));
  }
  seen[i0 * W + j0] = +(nChannels > 1 && channel > 0);  // G and B read earlier channels here
  return seen;
}

/** 0/1 map: pixels strictly before `target` in raster order. */
export function past([i, j], [H, W]) {
  return Uint8Array.from({ length: H * W }, (_, p) => +(p < i * W + j));
}

/** 0/1 map: earlier pixels inside the field's bounding box that it cannot see. */
export function blindSpot(seen, target, [H, W]) {
  let r0 = H, r1 = -1, c0 = W, c1 = -1;
  seen.forEach((v, p) => {
    if (!v) return;
    const i = Math.floor(p / W), j = p % W;
    r0 = Math.min(r0, i); r1 = Math.max(r1, i); c0 = Math.min(c0, j); c1 = Math.max(c1, j);
  });
  const before = past(target, [H, W]);
  return Uint8Array.from(seen, (v, p) => {
    const i = Math.floor(p / W), j = p % W;
    return +(i >= r0 && i <= r1 && j >= c0 && j <= c1 && before[p] && !v);
  });
}

/**
 * Everything a widget draws for one setting: `kinds` (a KIND code per pixel) and the
 * counts in its caption. `seen` counts earlier pixels only (never the target itself).
 */
export function classify(settings) {
  const { target, imageSize } = settings, [H, W] = imageSize;
  const seen = analyticField(settings), before = past(target, imageSize);
  const blind = blindSpot(seen, target, imageSize), t = target[0] * W + target[1];
  const kinds = Uint8Array.from(seen, (v, p) =>
    p === t ? KIND.target : !before[p] ? KIND.future : v ? KIND.seen : blind[p] ? KIND.blind : KIND.unreached);
  const count = (code) => kinds.reduce((n, k) => n + (k === code), 0);
  const counts = { past: t, seen: count(KIND.seen), blind: count(KIND.blind), unreached: count(KIND.unreached) };
  return { seen, kinds, counts };
}
