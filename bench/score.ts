// bench/score: candidates scored per second by glam's fused pass against (a) the engine's naive
// mode and (b) onnxruntime-node running the same ONNX model the naive way (each prompt+candidate as
// a full sequence, full logits, log-softmax in JS: what a Node user would do today), in one run.
// GLAM's shape: B prompts of ~150 tokens, K = 6 candidates of 1-3 tokens.
// Models: bench/models/<name>/ (HF directory + model.onnx, from `scripts/fixtures/regenerate.sh --bench`);
// a missing model is created with init-model (then the ONNX peer is skipped with a message).
// T5 section (--t5 flan-t5-small, '' to skip): Flan-T5-small's shape with random weights, GLAM's batch: glam fused vs
// glam naive vs PyTorch the Lamorel way (bench/t5_lamorel.py: encoder once per prompt, its output repeated per
// candidate, a padded decoder batch, full log-softmax), all in this run.
// Usage: npm run build && node dist/bench/score.js [--prompts 32] [--ort-prompts 8] [--threads 2] [--models llama-256,gpt2-small] [--t5 flan-t5-small]
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { Policy } from '../lib/policy/policy.js';
import type { TokenizedBatch } from '../lib/policy/batch.js';
import { benchModelDir, defaultBenchModels, glamShapedBatch } from './glam-batch.js';
import { gemmReport } from './gemm-report.js';
import { scoreWithOrt } from './ort-naive.js';
import { findTorchPython, runTorchPeer } from './torch-peer.js';

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
  const names = arg('models', '') === 'none' ? [] : (arg('models', '') || defaultBenchModels()).split(','); // none: the T5 section only
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
  const t5 = arg('t5', 'flan-t5-small');
  if (t5) await t5Section(t5, B, ortB, threads, reps);
}

async function t5Section(name: string, B: number, naiveB: number, threads: number, reps: number): Promise<void> {
  const dir = benchModelDir(name);
  const policy = await Policy.load(dir, { threads, device: 'cpu' });
  const batch = glamShapedBatch(B, policy.config.vocabSize);
  const N = B * 6;
  const fused = N / (await timeIt(() => policy.scoreTokens(batch), reps));
  const sub: TokenizedBatch = { prompts: batch.prompts.slice(0, naiveB), candidates: batch.candidates.slice(0, naiveB) };
  const naive = (naiveB * 6) / (await timeIt(() => policy.scoreTokens(sub, { mode: 'naive' }), reps));
  console.log(`\nT5 ${name}: glam fused ${fused.toFixed(1)} cand/s, glam naive ${naive.toFixed(1)} cand/s (on ${naiveB} prompts) -> ${(fused / naive).toFixed(2)}x`);
  let torchCell = 'skipped';
  const py = findTorchPython();
  if (py.python) {
    const r = runTorchPeer<{ seconds: number; logprobs: number[]; torch: string }>(py.python, 't5_lamorel.py', batch,
      ['--model', dir, '--threads', String(threads), '--reps', String(reps)]);
    const ref = await policy.scoreTokens(batch);
    let maxDiff = 0;
    r.logprobs.forEach((lp, k) => (maxDiff = Math.max(maxDiff, Math.abs(lp - ref.logprobs[k]!))));
    const rate = N / r.seconds;
    console.log(`T5 ${name}: PyTorch ${r.torch} the Lamorel way ${rate.toFixed(1)} cand/s (max |Δ logprob| vs glam ${maxDiff.toExponential(1)}) -> glam fused ${(fused / rate).toFixed(2)}x`);
    torchCell = `${rate.toFixed(1)} | ${(fused / rate).toFixed(2)}x`;
  } else {
    console.log(`T5 ${name}: PyTorch peer skipped: torch + transformers do not import (${py.why}); set GLAM_TORCH_PYTHON`);
  }
  console.log('\n| T5 model | glam fused cand/s | glam naive cand/s | fused/naive | PyTorch Lamorel-way cand/s | fused/PyTorch |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| ${name} | ${fused.toFixed(1)} | ${naive.toFixed(1)} | ${(fused / naive).toFixed(2)}x | ${torchCell} |`);
  await policy.dispose();
}

await main();
