// Reads {module, spec, weights (base64), tasks} on stdin; runs gated.js; prints JSON results.
import { pathToFileURL } from "node:url";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const { module, spec, weights, tasks } = JSON.parse(text);
const m = await import(pathToFileURL(module).href);
const buf = Buffer.from(weights, "base64");
const model = m.buildModel(spec, new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
const out = tasks.map((t) => {
  if (t.kind === "logits") return Array.from(m.imageLogits(model, t.image, t.H, t.W, t.label));
  if (t.kind === "sample") {
    const d = new m.Drawing(model, { H: t.H, W: t.W, label: t.label, temperature: t.temperature,
                                     seed: t.seed, init: t.init || null, start: t.start || 0 });
    const x = Array.from(d.finish());
    return { image: x, logLikelihood: m.logLikelihood(model, x, t.H, t.W, t.label) };
  }
  if (t.kind === "time") {
    const t0 = performance.now();
    for (let k = 0; k < t.n; k++) new m.Drawing(model, { H: t.H, W: t.W, label: k % 10, seed: k }).finish();
    return (performance.now() - t0) / t.n;
  }
  throw new Error(`unknown task ${t.kind}`);
});
process.stdout.write(JSON.stringify(out));
