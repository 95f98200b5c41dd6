// bench/train: training throughput for GLAM's shape (B prompts of 140-160 tokens, K = 6 candidates of
// 1-3 tokens), in one run: the forward alone (score), a full fine-tuning step and a LoRA step
// (forward with grad + backward + AdamW step with clipping), their ratios to the forward, samples
// (prompts) per second, the activation bytes held per trained token and the optimizer state, and the
// PyTorch peer (bench/train_torch.py: the same step done the way Lamorel does it) when torch and
// transformers import, skipped with a message otherwise.
// Targets (issue 3, CPU): full step <= 3.5x the forward, LoRA step <= 2.5x.
// T5 models (e.g. --models flan-t5-small) get bench/t5_lamorel.py --train as their PyTorch peer.
// Usage: npm run build && node dist/bench/train.js [--models llama-256,gpt2-small] [--prompts 32] [--threads N] [--reps 1] [--torch auto|off]
//        [--torch-context-logits all|last] (all: as Lamorel, the LM head runs on every context position; last: skips that waste)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { Rng } from '../lib/util/rng.js';
import type { TokenizedBatch } from '../lib/policy/batch.js';
import { Policy } from '../lib/policy/policy.js';
import type { TrainingOptions } from '../lib/policy/training.js';
import { packageRoot } from '../lib/util/package-root.js';
import { findTorchPython, runTorchPeer } from './torch-peer.js';
import { benchModelDir, defaultBenchModels, glamShapedBatch } from './glam-batch.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const MiB = 1024 * 1024;
const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Median seconds per call over `reps` calls after one warm-up; also the warm-up's result. */
async function timeIt<T>(f: () => Promise<T>, reps: number): Promise<{ seconds: number; first: T }> {
  const first = await f();
  const times: number[] = [];
  for (let i = 0; i < reps; ++i) {
    const t0 = performance.now();
    await f();
    times.push((performance.now() - t0) / 1000);
  }
  return { seconds: median(times), first };
}

function randomVector(n: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; ++i) a[i] = rng.nextFloat() * 2 - 1;
  return a;
}

interface StepReport {
  seconds: number;
  phases: { forward: number; backward: number; step: number }; // median seconds of each phase over the timed reps
  cacheBytes: number;
  rows: number;
  trainableParams: number;
  stateBytes: number;
}

/** A fresh policy, training enabled: median seconds of zeroGrad/forward/backward/step over reps steps after one warm-up. */
async function timeTraining(dir: string, threads: number, batch: TokenizedBatch, opts: TrainingOptions,
  dl: Float32Array, dv: Float32Array, reps: number): Promise<StepReport> {
  const policy = await Policy.load(dir, { threads, device: 'cpu' }); // the CPU engine's bench
  try {
    policy.enableTraining(opts);
    const times: { total: number[]; forward: number[]; backward: number[]; step: number[] } = { total: [], forward: [], backward: [], step: [] };
    let cacheBytes = 0, rows = 0, timing = false;
    const once = async (): Promise<void> => {
      const tz = performance.now();
      await policy.zeroGrad();
      const t0 = performance.now();
      const f = await policy.forward({ tokens: batch }, { grad: true });
      const t1 = performance.now();
      cacheBytes = f.cacheBytes;
      rows = f.rows;
      await policy.backward(f.handle, dl, dv);
      const t2 = performance.now();
      await policy.step({ lr: 1e-6, maxGradNorm: 0.5 });
      const t3 = performance.now();
      if (timing) {
        times.total.push((t3 - tz) / 1000);
        times.forward.push((t1 - t0) / 1000);
        times.backward.push((t2 - t1) / 1000);
        times.step.push((t3 - t2) / 1000);
      }
    };
    await once(); // warm-up (workspaces, optimizer moments, page faults)
    timing = true;
    for (let i = 0; i < reps; ++i) await once();
    const info = policy.trainingInfo();
    return {
      seconds: median(times.total), phases: { forward: median(times.forward), backward: median(times.backward), step: median(times.step) },
      cacheBytes, rows, trainableParams: info.trainableParams ?? 0, stateBytes: info.stateBytes ?? 0,
    };
  } finally {
    await policy.dispose();
  }
}

interface TorchReport { seconds_per_step: number; forward_seconds: number; logprobs: number[]; torch: string; transformers: string; threads: number }

function runTorch(python: string, dir: string, batch: TokenizedBatch, dl: Float32Array, dv: Float32Array, threads: number, reps: number,
  contextLogits: string): TorchReport {
  const tmp = mkdtempSync(join(tmpdir(), 'glam-bench-train-'));
  try {
    const input = join(tmp, 'batch.json');
    const out = join(tmp, 'out.json');
    writeFileSync(input, JSON.stringify({ ...batch, w: Array.from(dl), u: Array.from(dv) }));
    const script = join(packageRoot(), 'bench', 'train_torch.py');
    const r = spawnSync(python, [script, '--model', dir, '--batch', input, '--out', out, '--threads', String(threads), '--reps', String(reps),
      '--context-logits', contextLogits],
      { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`bench/train_torch.py failed (${r.error?.message ?? `exit ${r.status}`})`);
    return JSON.parse(readFileSync(out, 'utf8')) as TorchReport;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const B = Number(arg('prompts', '32'));
  const threads = Number(arg('threads', String(availableParallelism())));
  const reps = Number(arg('reps', '1'));
  const names = (arg('models', '') || defaultBenchModels()).split(',');
  const torchMode = arg('torch', 'auto');
  const contextLogits = arg('torch-context-logits', 'all');
  console.log(`glam bench/train: B=${B} prompts x K=6 candidates (1-3 tokens), prompts 140-160 tokens, ${threads} threads, ` +
    `median of ${reps} timed rep(s) after 1 warm-up; step = zeroGrad + forward({grad}) + backward + step({lr: 1e-6, maxGradNorm: 0.5})`);
  const torchPy = torchMode === 'off' ? { why: '--torch off' } : findTorchPython();
  if (!torchPy.python) console.log(`PyTorch peer skipped: torch + transformers do not import (${torchPy.why})`);
  const rows: string[] = [];
  for (const name of names) {
    const dir = benchModelDir(name);
    const probe = await Policy.load(dir, { threads, device: 'cpu' });
    const vocab = probe.config.vocabSize;
    const t5 = probe.config.family === 't5'; // its peer: bench/t5_lamorel.py --train
    const batch = glamShapedBatch(B, vocab);
    const fwd = await timeIt(() => probe.scoreTokens(batch), reps);
    await probe.dispose();
    const N = fwd.first.logprobs.length;
    const rng = new Rng(7);
    const dl = randomVector(N, rng); // fixed random dL/dlogprob (w) and dL/dvalue (u)
    const dv = randomVector(B, rng);
    console.log(`${name}: forward (score) ${fwd.seconds.toFixed(3)} s/batch, ${(B / fwd.seconds).toFixed(1)} prompts/s`);

    const report = (label: string, r: StepReport): void => {
      const p = r.phases;
      console.log(`${name}: ${label} step ${r.seconds.toFixed(3)} s = ${(r.seconds / fwd.seconds).toFixed(2)}x forward, ${(B / r.seconds).toFixed(1)} samples/s ` +
        `(forward+grad ${p.forward.toFixed(3)} s, backward ${p.backward.toFixed(3)} s, step ${p.step.toFixed(3)} s)`);
      console.log(`${name}: ${label} memory: ${(r.cacheBytes / r.rows).toFixed(0)} activation bytes per trained token ` +
        `(${mib(r.cacheBytes)} for ${r.rows} rows), trainable params ${r.trainableParams}, gradients + AdamW moments ${mib(r.stateBytes)}`);
    };
    const full = await timeTraining(dir, threads, batch, { mode: 'full' }, dl, dv, reps);
    report('full', full);
    const lora = await timeTraining(dir, threads, batch, { mode: 'lora', rank: 8, alpha: 16 }, dl, dv, reps);
    report('LoRA r=8', lora);

    let torchCells = 'skipped | -';
    if (torchPy.python) {
      const t = t5
        ? runTorchPeer<TorchReport>(torchPy.python, 't5_lamorel.py', { ...batch, w: Array.from(dl), u: Array.from(dv) },
          ['--model', dir, '--threads', String(threads), '--reps', String(reps), '--train'])
        : runTorch(torchPy.python, dir, batch, dl, dv, threads, reps, contextLogits);
      // Parity on the prompts of the longest length: Lamorel left-pads the others without position ids, which shifts their positions.
      const maxLen = Math.max(...batch.prompts.map((p) => p.length));
      let maxDiff = 0;
      const off = fwd.first.candOffset;
      batch.prompts.forEach((p, b) => {
        if (p.length !== maxLen) return;
        for (let k = off[b]!; k < off[b + 1]!; ++k) maxDiff = Math.max(maxDiff, Math.abs(t.logprobs[k]! - fwd.first.logprobs[k]!));
      });
      console.log(`${name}: PyTorch ${t.torch} + transformers ${t.transformers} (${t.threads} threads), Lamorel-style${contextLogits === 'all' ? '' : ` (context logits: ${contextLogits})`}: forward ${t.forward_seconds.toFixed(3)} s ` +
        `(glam ${(t.forward_seconds / fwd.seconds).toFixed(2)}x faster), full step ${t.seconds_per_step.toFixed(3)} s, ${(B / t.seconds_per_step).toFixed(1)} samples/s ` +
        `-> glam full step ${(t.seconds_per_step / full.seconds).toFixed(2)}x faster (max |Δ logprob| vs glam on unpadded prompts ${maxDiff.toExponential(1)})`);
      torchCells = `${t.seconds_per_step.toFixed(3)} | ${(t.seconds_per_step / full.seconds).toFixed(2)}x`;
    }
    rows.push(`| ${name} | ${fwd.seconds.toFixed(3)} | ${full.seconds.toFixed(3)} | ${(full.seconds / fwd.seconds).toFixed(2)}x | ` +
      `${lora.seconds.toFixed(3)} | ${(lora.seconds / fwd.seconds).toFixed(2)}x | ${(full.cacheBytes / full.rows).toFixed(0)} | ` +
      `${(lora.cacheBytes / lora.rows).toFixed(0)} | ${torchCells} |`);
  }
  console.log(`\nB=${B}, ${threads} threads; targets: full/forward <= 3.5x, LoRA/forward <= 2.5x; glam speedup = torch full step / glam full step`);
  console.log('| model | forward s | full step s | full/forward | LoRA step s | LoRA/forward | bytes/token full | bytes/token LoRA | torch step s | glam speedup |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

await main();
