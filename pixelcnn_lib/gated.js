// A JavaScript twin of the cached sampler (fast_sampling.py) for a greyscale GatedPixelCNN:
// the shipped model drawing in the browser, with no kernel and no request anywhere.
//
// The model is the one models.GatedPixelCNN builds for in_channels=1 (the causal block, the
// gated blocks with dilations, label biases, skips, the 1x1 head); the weights come from
// browser_model.py (a spec and one float32 array). The order of work is the cached sampler's:
// when row i starts, every block's vertical stack at row i - 1 is computed (its input rows are
// all complete), then each pixel of row i runs every block's horizontal stack at that pixel
// only. The horizontal stack reads the current row up to the pixel (its last tap, the pixel
// itself, is masked out in the causal block); the vertical stack reaches it only through the
// down-shift, so no output ever reads a pixel at or after the one it predicts.
// tests/test_gated_js.py holds the logits of every pixel equal to Python's.

/** Named Float32Array views of the weights, per the spec browser_model.export writes. */
export function loadWeights(spec, buffer) {
  const all = buffer instanceof Float32Array ? buffer : new Float32Array(
    buffer.buffer ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) : buffer);
  const tensors = {};
  for (const [name, { offset, shape }] of Object.entries(spec.tensors)) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (offset + size > all.length) throw new Error(`weights end before ${name}: the asset is truncated`);
    tensors[name] = all.subarray(offset, offset + size);
  }
  return tensors;
}

/** The network, arranged for per-row and per-pixel work (weights re-laid out once). */
export function buildModel(spec, buffer) {
  const t = loadWeights(spec, buffer);
  const { hidden, skip, head, levels, kernelSize, causalKernelSize, dilations, nClasses } = spec;
  const blocks = [];
  const specs = [{ k: causalKernelSize, d: 1, inC: 1, first: true }, ...dilations.map((d) => (
    { k: kernelSize, d, inC: hidden, first: false }))];
  specs.forEach(({ k, d, inC, first }, b) => {
    const p = `b${b}.`, r = (k - 1) >> 1, out = 2 * hidden;
    blocks.push({
      first, d, r, inC, out,
      vW: t[p + "v_conv.weight"], vB: t[p + "v_conv.bias"],          // [out, inC, r+1, k]
      hW: t[p + "h_conv.weight"], hB: t[p + "h_conv.bias"],          // [out, inC, 1, r+1] masked
      linkW: t[p + "v_to_h.weight"], linkB: t[p + "v_to_h.bias"],    // [out, out]
      labelH: t[p + "label_h"] || null, labelV: t[p + "label_v"] || null,  // [classes, out]
      outW: t[p + "h_out.weight"] || null, outB: t[p + "h_out.bias"] || null,  // [hidden, hidden]
      skipW: t[p + "skip.weight"] || null, skipB: t[p + "skip.bias"] || null,  // [skip, hidden]
    });
  });
  return { spec, blocks, hidden, skip, head, levels, nClasses: nClasses || 0,
           head1W: t["head1.weight"], head1B: t["head1.bias"],   // [head, skip]
           head2W: t["head2.weight"], head2B: t["head2.bias"] }; // [levels, head]
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/** tanh(first half) * sigmoid(second half) of pre[0..2n), into out[0..n). */
function gate(pre, n, out) {
  for (let c = 0; c < n; c++) out[c] = Math.tanh(pre[c]) * sigmoid(pre[n + c]);
}

/**
 * The model run on one image in raster order, a row and then a pixel at a time. `next(i, j,
 * logits)` is called at every pixel with its `levels` logits and returns the level to write
 * there (teacher forcing returns the image's own level; sampling draws one).
 */
export class Runner {
  constructor(model, H, W, label = 0) {
    const { blocks, hidden, nClasses } = model;
    if (nClasses && !(label >= 0 && label < nClasses)) throw new Error(`label must lie in 0..${nClasses - 1}`);
    Object.assign(this, { model, H, W, label });
    this.x = new Int32Array(H * W);
    // Each block's inputs, channels last: v_in (full image) and h_in (full image; block 0: x).
    this.vIn = blocks.map((b) => new Float32Array(H * W * b.inC));
    this.hIn = blocks.map((b) => new Float32Array(H * W * b.inC));
    this.rowPre = blocks.map((b) => new Float32Array(W * b.out));
    const most = Math.max(2 * hidden, model.skip, model.head, model.levels);
    this.pre = new Float32Array(most);
    this.gated = new Float32Array(most);
    this.skips = new Float32Array(model.skip);
    this.hidden1 = new Float32Array(model.head);
    this.logits = new Float32Array(model.levels);
    this.vPre = new Float32Array(W * 2 * hidden);
    this.row = 0;
  }

  /** The vertical stacks at row i - 1 and everything else of row i that no pixel of it changes. */
  startRow(i) {
    const { model: { blocks, hidden }, W, H, label } = this;
    blocks.forEach((b, n) => {
      const { out, inC, r, d } = b, k = 2 * r + 1, rowPre = this.rowPre[n], vPre = this.vPre;
      if (i === 0) {
        for (let j = 0; j < W; j++) rowPre.set(b.linkB, j * out);   // a zero row enters the link
      } else {
        const vin = this.vIn[n], rows = r + 1;
        for (let j = 0; j < W; j++) {
          const o = j * out;
          for (let c = 0; c < out; c++) vPre[o + c] = b.vB[c];
          for (let a = 0; a < rows; a++) {
            const ii = i - 1 - (r - a) * d;
            if (ii < 0) continue;
            for (let tap = 0; tap < k; tap++) {
              const jj = j + (tap - r) * d;
              if (jj < 0 || jj >= W) continue;
              const src = (ii * W + jj) * inC;
              for (let c = 0; c < out; c++) {
                let s = 0;
                const w0 = ((c * inC) * rows + a) * k + tap, step = rows * k;
                for (let q = 0; q < inC; q++) s += b.vW[w0 + q * step] * vin[src + q];
                vPre[o + c] += s;
              }
            }
          }
          for (let c = 0; c < out; c++) {   // the 1x1 link into the horizontal stack
            let s = b.linkB[c];
            const w0 = c * out;
            for (let q = 0; q < out; q++) s += b.linkW[w0 + q] * vPre[o + q];
            rowPre[o + c] = s;
          }
          if (n + 1 < blocks.length) {      // v at row i - 1, the next block's vertical input
            if (b.labelV) for (let c = 0; c < out; c++) vPre[o + c] += b.labelV[label * out + c];
            gate(vPre.subarray(o, o + out), hidden, this.vIn[n + 1].subarray(((i - 1) * W + j) * hidden));
          }
        }
      }
      for (let j = 0; j < W; j++) {
        const o = j * out;
        for (let c = 0; c < out; c++) rowPre[o + c] += b.hB[c] + (b.labelH ? b.labelH[label * out + c] : 0);
      }
    });
    this.row = i;
  }

  /** Logits of pixel (i, j) from the cached inputs; writes every block's h output there. */
  pixel(i, j) {
    const { model, W } = this, { blocks, hidden } = model;
    const { pre, gated, skips } = this;
    skips.fill(0);
    blocks.forEach((b, n) => {
      const { out, inC, r, d } = b, hin = this.hIn[n], taps = r + 1;
      pre.set(this.rowPre[n].subarray(j * out, (j + 1) * out));
      for (let tap = 0; tap < taps; tap++) {
        const jj = j - (r - tap) * d;
        if (jj < 0) continue;
        const src = (i * W + jj) * inC;
        for (let c = 0; c < out; c++) {
          let s = 0;
          const w0 = c * inC * taps + tap;
          for (let q = 0; q < inC; q++) s += b.hW[w0 + q * taps] * hin[src + q];
          pre[c] += s;
        }
      }
      gate(pre, hidden, gated);
      const dst = n + 1 < blocks.length ? this.hIn[n + 1] : null, at = (i * W + j) * hidden;
      if (b.first) { if (dst) dst.set(gated.subarray(0, hidden), at); return; }
      if (dst) {
        for (let c = 0; c < hidden; c++) {
          let s = b.outB[c] + hin[at + c];
          const w0 = c * hidden;
          for (let q = 0; q < hidden; q++) s += b.outW[w0 + q] * gated[q];
          dst[at + c] = s;
        }
      }
      for (let c = 0; c < model.skip; c++) {
        let s = b.skipB[c];
        const w0 = c * hidden;
        for (let q = 0; q < hidden; q++) s += b.skipW[w0 + q] * gated[q];
        skips[c] += s;
      }
    });
    const h1 = this.hidden1, logits = this.logits;
    for (let c = 0; c < model.head; c++) {
      let s = model.head1B[c];
      const w0 = c * model.skip;
      for (let q = 0; q < model.skip; q++) s += model.head1W[w0 + q] * Math.max(skips[q], 0);
      h1[c] = Math.max(s, 0);
    }
    for (let c = 0; c < model.levels; c++) {
      let s = model.head2B[c];
      const w0 = c * model.head;
      for (let q = 0; q < model.head; q++) s += model.head2W[w0 + q] * h1[q];
      logits[c] = s;
    }
    return logits;
  }

  /** Write level v at (i, j): the causal block's inputs (both stacks read the image). */
  write(i, j, v) {
    const p = i * this.W + j, scaled = v * (2 / (this.model.levels - 1)) - 1;
    this.x[p] = v;
    this.vIn[0][p] = scaled;
    this.hIn[0][p] = scaled;
  }
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32): the same seed, the same digit. */
export function uniform(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Softmax of logits / temperature, into probs (a Float64Array of the same length). */
export function softmax(logits, temperature, probs) {
  let most = -Infinity;
  for (let c = 0; c < logits.length; c++) most = Math.max(most, logits[c] / temperature);
  let total = 0;
  for (let c = 0; c < logits.length; c++) total += (probs[c] = Math.exp(logits[c] / temperature - most));
  for (let c = 0; c < logits.length; c++) probs[c] /= total;
  return probs;
}

/** The level whose cumulative probability first passes u. */
export function pick(probs, u) {
  let acc = 0;
  for (let c = 0; c < probs.length; c++) if ((acc += probs[c]) > u) return c;
  return probs.length - 1;
}

/**
 * A drawing in progress, one pixel per `step()`: the pixels before `start` (a raster index) are
 * kept from `init`, the rest are sampled. `step()` returns what it did at the pixel: its place,
 * the probabilities and the level written, so a view can show the distribution as it draws.
 */
export class Drawing {
  constructor(model, { H = 28, W = 28, label = 0, temperature = 1, seed = 0, init = null, start = 0 } = {}) {
    if (!(temperature > 0)) throw new Error("temperature must be > 0");
    this.runner = new Runner(model, H, W, label);
    Object.assign(this, { H, W, temperature, start, init, position: 0 });
    this.random = uniform(seed);
    this.probs = new Float64Array(model.levels);
  }

  get done() { return this.position >= this.H * this.W; }

  step() {
    const { runner, W } = this, p = this.position, i = Math.floor(p / W), j = p % W;
    if (j === 0) runner.startRow(i);
    if (p < this.start) {             // kept: only the stacks' inputs need it
      runner.write(i, j, this.init[p]);
      runner.pixel(i, j);
      this.position++;
      return { i, j, level: this.init[p], kept: true };
    }
    const probs = softmax(runner.pixel(i, j), this.temperature, this.probs);
    const level = pick(probs, this.random());
    runner.write(i, j, level);
    this.position++;
    return { i, j, level, probs, kept: false };
  }

  /** Run to the end; returns the levels [H * W]. */
  finish() {
    while (!this.done) this.step();
    return this.runner.x;
  }
}

/** Logits [H * W * levels] of every pixel of a given image (teacher forcing): the test's view. */
export function imageLogits(model, image, H, W, label = 0) {
  const runner = new Runner(model, H, W, label), L = model.levels, out = new Float32Array(H * W * L);
  for (let i = 0; i < H; i++) {
    runner.startRow(i);
    for (let j = 0; j < W; j++) {
      out.set(runner.pixel(i, j), (i * W + j) * L);
      runner.write(i, j, image[i * W + j]);
    }
  }
  return out;
}

/** Sum over pixels of log p(level | past) at temperature 1, in nats. */
export function logLikelihood(model, image, H, W, label = 0) {
  const logits = imageLogits(model, image, H, W, label), L = model.levels;
  let total = 0;
  for (let p = 0; p < H * W; p++) {
    const row = logits.subarray(p * L, (p + 1) * L);
    let most = -Infinity;
    for (const z of row) most = Math.max(most, z);
    let s = 0;
    for (const z of row) s += Math.exp(z - most);
    total += row[image[p]] - most - Math.log(s);
  }
  return total;
}
