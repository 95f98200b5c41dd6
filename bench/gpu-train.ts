// bench/gpu's training section: PPO update throughput on one GPU — transitions per second of one
// forward (with grad) + backward + clipped AdamW step over a batch of B transitions with K = 6
// candidates each — for glam's CUDA engine (bf16) against the same update done Lamorel's way in
// PyTorch on the same GPU (bench/train_torch.py --device cuda --dtype bf16: prompt cache repeated per
// candidate, full log-softmax materialised, torch AdamW), full fine-tuning and LoRA (rank 8), with
// the ratios and glam's share of the roofline: t_min = m · F_forward / (bf16 GEMM rate), m = 3 for
// full fine-tuning (forward, dX, dW), 2 for LoRA (no dW of the frozen base).
// Subtle: until the CUDA engine trains (issue 7), enableTraining on the GPU answers NotImplemented;
// the glam cells say so and the PyTorch numbers are still measured.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { GlamError } from '../lib/errors.js';
import type { ModelConfig } from '../lib/io/model-config.js';
import { Policy } from '../lib/policy/policy.js';
import type { TrainingOptions } from '../lib/policy/training.js';
import { packageRoot } from '../lib/util/package-root.js';
import { benchModelDir, fixedShapeBatch } from './glam-batch.js';

/** Training shapes: B transitions, prompts of P tokens, K = 6 candidates of A tokens. */
export const TRAIN_SHAPES: Record<string, { B: number; P: number; K: number; A: number }> = {
  'gpt2-small': { B: 32, P: 128, K: 6, A: 3 },
  'qwen2-0.5b': { B: 16, P: 256, K: 6, A: 4 },
};

const MODES: { name: 'full' | 'lora'; opts: TrainingOptions; flopsFactor: number; torchLora: number }[] = [
  { name: 'full', opts: { mode: 'full' }, flopsFactor: 3, torchLora: 0 },
  { name: 'lora', opts: { mode: 'lora', rank: 8, alpha: 16 }, flopsFactor: 2, torchLora: 8 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** glam's seconds per update, or the error code that stopped it. */
async function glamUpdate(dir: string, opts: TrainingOptions, batch: ReturnType<typeof fixedShapeBatch>, w: number[], u: number[],
  reps: number): Promise<{ seconds?: number; why?: string }> {
  const policy = await Policy.load(dir, { device: 'cuda', precision: 'bf16' });
  try {
    policy.enableTraining(opts);
    const update = async () => {
      await policy.zeroGrad();
      const f = await policy.forward({ tokens: batch }, { grad: true });
      await policy.backward(f.handle, w, u);
      await policy.step({ lr: 1e-6, maxGradNorm: 0.5 });
    };
    await update(); // eager: plans and workspace
    await update();
    const times: number[] = [];
    for (let i = 0; i < reps; ++i) {
      const t0 = performance.now();
      await update();
      times.push((performance.now() - t0) / 1e3);
    }
    return { seconds: median(times) };
  } catch (e) {
    if (e instanceof GlamError) return { why: e.code };
    throw e;
  } finally {
    await policy.dispose();
  }
}

function torchUpdate(dir: string, batch: object, lora: number, reps: number): { seconds?: number; why?: string } {
  const tmp = mkdtempSync(join(tmpdir(), 'glam-gpu-train-'));
  try {
    writeFileSync(join(tmp, 'batch.json'), JSON.stringify(batch));
    const r = spawnSync(process.env.PYTHON ?? 'python3', [join(packageRoot(), 'bench', 'train_torch.py'), '--model', dir,
      '--batch', join(tmp, 'batch.json'), '--out', join(tmp, 'out.json'), '--reps', String(reps), '--device', 'cuda',
      '--dtype', 'bf16', '--lora', String(lora)], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) return { why: `train_torch.py failed (${r.error?.message ?? `exit ${r.status}`})` };
    return { seconds: (JSON.parse(readFileSync(join(tmp, 'out.json'), 'utf8')) as { seconds_per_step: number }).seconds_per_step };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs the section; returns its markdown rows and a JSON record. */
export async function trainSection(shapes: string[], gemmTflops: number, reps: number, peers: boolean,
  forwardFlops: (c: ModelConfig, s: { B: number; P: number; K: number; A: number }) => number): Promise<{ rows: string[]; results: Record<string, unknown> }> {
  const rows: string[] = [];
  const results: Record<string, unknown> = {};
  for (const name of shapes) {
    const s = TRAIN_SHAPES[name];
    if (!s) continue;
    const dir = benchModelDir(name);
    const probe = await Policy.load(dir, { device: 'cpu' });
    const cfg = probe.config;
    await probe.dispose();
    const batch = fixedShapeBatch(s.B, s.P, s.K, s.A, cfg.vocabSize, 11);
    const w = Array.from({ length: s.B * s.K }, (_, i) => ((i % 7) - 3) / 10);
    const u = Array.from({ length: s.B }, (_, i) => ((i % 5) - 2) / 10);
    const F = forwardFlops(cfg, s);
    for (const m of MODES) {
      const g = await glamUpdate(dir, m.opts, batch, w, u, reps);
      const t = peers ? torchUpdate(dir, { ...batch, w, u }, m.torchLora, Math.min(reps, 5)) : { why: 'skipped (--no-peers)' };
      const glamRate = g.seconds ? s.B / g.seconds : undefined, torchRate = t.seconds ? s.B / t.seconds : undefined;
      const share = g.seconds ? (m.flopsFactor * F) / (gemmTflops * 1e12) / g.seconds : undefined;
      const glamCell = glamRate ? `${glamRate.toFixed(1)} tr/s` : `— (${g.why})`;
      const torchCell = torchRate ? `${torchRate.toFixed(1)} tr/s` : `— (${t.why})`;
      const ratio = glamRate && torchRate ? `${(glamRate / torchRate).toFixed(2)}x` : '—';
      const shareCell = share !== undefined ? `${(share * 100).toFixed(1)}% (${m.flopsFactor}x fwd)` : '—';
      console.log(`${name} ${m.name}: glam ${glamCell}, PyTorch Lamorel-way ${torchCell}, ratio ${ratio}, roofline ${shareCell}`);
      results[`${name}/${m.name}`] = { glam: g, torch: t, transitionsPerSec: { glam: glamRate, torch: torchRate }, rooflineShare: share };
      rows.push(`| ${name} ${m.name} B=${s.B} P=${s.P} K=${s.K} A=${s.A} | ${glamCell} | ${torchCell} | ${ratio} | ${shareCell} |`);
    }
  }
  return { rows, results };
}
