// The onnxruntime-node peer of bench/score: the naive way a Node user scores candidates today.
// Each prompt's K candidates run as K full sequences (prompt + candidate, right-padded to the
// longest so they batch without a mask: causal attention keeps pads from touching earlier rows),
// the model returns logits for every position, and the log-softmax + gather happen in JS.
// Legend: K candidates, L = P + max A tokens, V vocabulary.
import type { TokenizedBatch } from '../lib/policy/batch.js';

export async function scoreWithOrt(onnxPath: string, batch: TokenizedBatch, threads: number, reps: number):
  Promise<{ logprobs: number[]; seconds: number }> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnxPath, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0]!;
  const run = async (): Promise<number[]> => {
    const out: number[] = [];
    for (let b = 0; b < batch.prompts.length; ++b) {
      const p = batch.prompts[b]!;
      const cs = batch.candidates[b]!;
      const L = p.length + Math.max(...cs.map((c) => c.length));
      const ids = new BigInt64Array(cs.length * L);
      cs.forEach((c, k) => [...p, ...c].forEach((t, i) => (ids[k * L + i] = BigInt(t))));
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = { [inputName]: new ort.Tensor('int64', ids, [cs.length, L]) };
      const res = await session.run(feeds);
      const logits = res[session.outputNames[0]!]!.data as Float32Array; // (K, L, V)
      const V = logits.length / (cs.length * L);
      cs.forEach((c, k) => {
        let s = 0;
        c.forEach((t, j) => {
          const row = (k * L + p.length - 1 + j) * V;
          let m = -Infinity;
          for (let v = 0; v < V; ++v) m = Math.max(m, logits[row + v]!);
          let z = 0;
          for (let v = 0; v < V; ++v) z += Math.exp(logits[row + v]! - m);
          s += logits[row + t]! - m - Math.log(z);
        });
        out.push(s);
      });
    }
    return out;
  };
  const logprobs = await run(); // warm-up, and the values checked against glam
  const t0 = performance.now();
  for (let i = 0; i < reps; ++i) await run();
  const seconds = (performance.now() - t0) / 1000 / reps;
  await session.release();
  return { logprobs, seconds };
}
