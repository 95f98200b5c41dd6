// bench/score: candidates scored per second by glam's fused pass against (a) the engine's naive
// mode and (b) onnxruntime-node running the same ONNX model the naive way (each prompt+candidate as
// a full sequence, full logits, log-softmax in JS: what a Node user would do today), in one run.
// GLAM's shape: B prompts of ~150 tokens, K = 6 candidates of 1-3 tokens.
// Models: bench/models/<name>/ (HF directory + model.onnx, from `scripts/fixtures/regenerate.sh --bench`);
// a missing model is created with init-model (then the ONNX peer is skipped with a message).
// Usage: npm run build && node dist/bench/score.js [--prompts 32] [--ort-prompts 8] [--threads 2] [--models llama-256,gpt2-small]
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { Policy } from '../lib/policy/policy.js';
import type { TokenizedBatch } from '../lib/policy/batch.js';
import { benchModelDir, defaultBenchModels, glamShapedBatch } from './glam-batch.js';
import { gemmReport } from './gemm-report.js';
import { scoreWithOrt } from './ort-naive.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

async function timeIt(f: () => Promise<unknown>, reps: number): Promise<number> {
  await f(); // warm-up (workspace growth, page faults)
  const t0 = performance.now();
  for (let i = 0; i < reps; ++i) await f();
  return (performance.now() - t0) / 1000 / reps;
}

async function main(): Promise<void> {
  const B = Number(arg('prompts', '32'));
  const ortB = Number(arg('ort-prompts', '8'));
  const threads = Number(arg('threads', String(availableParallelism())));
  const reps = Number(arg('reps', '1'));
  const names = (arg('models', '') || defaultBenchModels()).split(',');
  console.log(`glam bench/score: B=${B} prompts x K=6 candidates (1-3 tokens), prompts 140-160 tokens, ${threads} threads`);
  const rows: string[] = [];
  for (const name of names) {
    const dir = benchModelDir(name);
    const policy = await Policy.load(dir, { threads, device: 'cpu' }); // the CPU engine's bench (bench/gpu: the GPU)
    const batch = glamShapedBatch(B, policy.config.vocabSize);
    const N = B * 6;
    const fused = await timeIt(() => policy.scoreTokens(batch), reps);
    // The naive peers cost ~6x more per candidate; they run on the first `--ort-prompts` prompts (a rate is per candidate).
    const sub: TokenizedBatch = { prompts: batch.prompts.slice(0, ortB), candidates: batch.candidates.slice(0, ortB) };
    const naive = await timeIt(() => policy.scoreTokens(sub, { mode: 'naive' }), reps);
    const fusedRate = N / fused;
    const naiveRate = (ortB * 6) / naive;
    console.log(`${name}: fused ${fusedRate.toFixed(1)} cand/s (${fused.toFixed(2)} s/batch), engine naive ${naiveRate.toFixed(1)} cand/s (on ${ortB} prompts) -> ${(fusedRate / naiveRate).toFixed(2)}x`);
    let ortCell = 'skipped';
    const onnx = join(dir, 'model.onnx');
    if (existsSync(onnx)) {
      const ref = await policy.scoreTokens(sub);
      const ort = await scoreWithOrt(onnx, sub, threads, reps);
      let maxDiff = 0;
      ort.logprobs.forEach((lp, k) => (maxDiff = Math.max(maxDiff, Math.abs(lp - ref.logprobs[k]!))));
      const ortRate = (ortB * 6) / ort.seconds;
      console.log(`${name}: onnxruntime-node naive ${ortRate.toFixed(1)} cand/s on ${ortB} prompts (max |Δ logprob| vs glam ${maxDiff.toExponential(1)}) -> glam fused ${(fusedRate / ortRate).toFixed(2)}x`);
      ortCell = `${ortRate.toFixed(1)} | ${(fusedRate / ortRate).toFixed(2)}x`;
    } else {
      console.log(`${name}: no ${onnx}; onnxruntime-node peer skipped (run scripts/fixtures/regenerate.sh --bench)`);
    }
    rows.push(`| ${name} | ${fusedRate.toFixed(1)} | ${naiveRate.toFixed(1)} | ${(fusedRate / naiveRate).toFixed(2)}x | ${ortCell} |`);
    gemmReport(policy.config, threads);
    await policy.dispose();
  }
  console.log('\n| model | glam fused cand/s | engine naive cand/s | fused/naive | ORT naive cand/s | fused/ORT |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await main();
