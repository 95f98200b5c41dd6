// bench/gpu: candidate scores per second on one GPU, in one run: glam's fused CUDA pass (bf16, CUDA
// graphs) against Hugging Face transformers the naive way and Lamorel's way (bench/gpu_peers.py,
// PyTorch on the same GPU), with the ratios and glam's share of the bf16 roofline.
//   node dist/bench/gpu.js [--shapes gpt2-small,qwen2-0.5b,smollm2-135m] [--train-shapes gpt2-small,qwen2-0.5b] [--reps 10] [--no-peers] [--no-train]
//                          [--t5 flan-t5-small] [--no-t5] [--out FILE.json]
// smollm2-135m is GLAM's batch shape (B=32, P=150, K=6, A=3) on the real model where $GLAM_SMOLLM2_DIR
// (bench/glam-batch.ts) holds it, else on its shape with random weights (the same speed; the real one
// is 538 MB, too big to carry to a lent GPU). The T5 section is bench/gpu-t5.ts.
// Then the training section (bench/gpu-train.ts): PPO update transitions/s, glam vs PyTorch the
// Lamorel way, full and LoRA, with roofline shares at 3x / 2x forward FLOPs.
// Roofline (../shared/reference/performance-anchors.md §5): F = 2·N_b·T_tok + 2·C·V·R +
// 4·L·d_a·B·[P²/2 + K·A·(P + A/2)]; t_min = F / (the bf16 GEMM rate measured here, 8192³);
// share = t_min / t_glam. Shapes: GPT-2-small (B=32, P=128, K=6, A=3) and Qwen2-0.5B-shaped random
// weights (B=64, P=256, K=16, A=4). Prints a markdown table last. Exits 0 with a message without a GPU.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ModelConfig } from '../lib/io/model-config.js';
import { cudaAddon } from '../lib/native/binding.js';
import { cudaTestHooks } from '../lib/native/test-hooks.js';
import { Policy } from '../lib/policy/policy.js';
import { packageRoot } from '../lib/util/package-root.js';
import { benchModelDir, fixedShapeBatch, SMOLLM2, smollm2Dir } from './glam-batch.js';
import { t5Section } from './gpu-t5.js';
import { trainSection } from './gpu-train.js';

const SHAPES: Record<string, { B: number; P: number; K: number; A: number }> = {
  'gpt2-small': { B: 32, P: 128, K: 6, A: 3 },
  'qwen2-0.5b': { B: 64, P: 256, K: 16, A: 4 },
  'smollm2-135m': { B: 32, P: 150, K: 6, A: 3 },
};

/** The model directory of a shape: SmolLM2-135M itself when built, else its random-weight shape. */
function shapeModelDir(name: string): string {
  if (name !== SMOLLM2) return benchModelDir(name);
  if (existsSync(join(smollm2Dir(), 'READY'))) return smollm2Dir();
  console.log(`${SMOLLM2}: not at ${smollm2Dir()}; its shape with random weights instead`);
  return benchModelDir('smollm2-135m-shape');
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Forward FLOPs of one batch, per performance-anchors §5. */
export function forwardFlops(c: ModelConfig, s: { B: number; P: number; K: number; A: number }): number {
  const C = c.hiddenSize, Q = (c.numHeads + 2 * c.numKvHeads) * c.headDim, da = c.numHeads * c.headDim;
  const U = c.family === 'llama' ? 2 * c.intermediateSize : c.intermediateSize;
  const Nb = c.numLayers * (C * Q + da * C + C * U + c.intermediateSize * C);
  const Ttok = s.B * (s.P + s.K * s.A), R = s.B * (1 + s.K * (s.A - 1));
  return 2 * Nb * Ttok + 2 * C * c.vocabSize * R + 4 * c.numLayers * da * s.B * (s.P ** 2 / 2 + s.K * s.A * (s.P + s.A / 2));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { addon, reason } = cudaAddon();
  const dev = addon?.deviceCount();
  if (!addon || !dev || dev.count === 0) {
    console.log(`bench/gpu: skipped: ${addon ? `no CUDA device (${dev?.reason})` : reason}`);
    return;
  }
  const { hooks, reason: noHooks } = cudaTestHooks();
  if (!hooks) {
    console.log(`bench/gpu: skipped: the GEMM rate needs the CUDA test addon (${noHooks})`);
    return;
  }
  const reps = Number(arg('reps', '10'));
  const peers = !process.argv.includes('--no-peers');
  const rate = hooks.ops.gemmRate({ M: 8192, N: 8192, K: 8192, precision: 'bf16', iters: 20 });
  console.log(`bench/gpu on ${dev.name} (sm ${dev.computeCapability}); bf16 GEMM 8192³ ${rate.tflops.toFixed(1)} TFLOP/s; median of ${reps} after 2 warm-ups`);
  const rows: string[] = [];
  const results: Record<string, unknown> = { device: dev.name, gemmTflops: rate.tflops };
  for (const name of arg('shapes', 'gpt2-small,qwen2-0.5b,smollm2-135m').split(',')) {
    const s = SHAPES[name];
    if (!s) throw new Error(`unknown shape ${name}; known: ${Object.keys(SHAPES).join(', ')}`);
    const dir = shapeModelDir(name);
    const policy = await Policy.load(dir, { device: 'cuda', precision: 'bf16' });
    const batch = fixedShapeBatch(s.B, s.P, s.K, s.A, policy.config.vocabSize, 7);
    await policy.scoreTokens(batch); // eager: plans and workspace
    const first = await policy.scoreTokens(batch); // captured into a CUDA graph
    const times: number[] = [];
    for (let i = 0; i < reps; ++i) {
      const t0 = performance.now();
      await policy.scoreTokens(batch);
      times.push((performance.now() - t0) / 1e3);
    }
    const t = median(times), cands = s.B * s.K, glamRate = cands / t;
    const F = forwardFlops(policy.config, s), share = F / (rate.tflops * 1e12) / t;
    const info = policy.engineInfo();
    console.log(`${name}: glam ${glamRate.toFixed(0)} cand/s (${(t * 1e3).toFixed(2)} ms/batch, ${(F / 1e12).toFixed(3)} TFLOP, ` +
      `${(share * 100).toFixed(1)}% of the bf16 roofline; workspace ${((info.workspaceBytes ?? 0) / 2 ** 20).toFixed(0)} MiB, graphs ${info.graphs})`);
    const r: Record<string, unknown> = { glam: { seconds: t, candPerSec: glamRate, rooflineShare: share, flops: F } };
    let naiveCell = '', lamCell = '';
    if (peers) {
      const tmp = mkdtempSync(join(tmpdir(), 'glam-gpu-bench-'));
      writeFileSync(join(tmp, 'batch.json'), JSON.stringify(batch));
      const py = spawnSync(process.env.PYTHON ?? 'python3', [join(packageRoot(), 'bench', 'gpu_peers.py'), '--model', dir,
        '--batch', join(tmp, 'batch.json'), '--out', join(tmp, 'out.json'), '--reps', String(Math.min(reps, 5))], { stdio: 'inherit' });
      if (py.status === 0) {
        const out = JSON.parse(readFileSync(join(tmp, 'out.json'), 'utf8')) as Record<'naive' | 'lamorel', { seconds: number; logprobs: number[] }>;
        for (const peer of ['naive', 'lamorel'] as const) {
          const pr = cands / out[peer].seconds;
          let d = 0;
          out[peer].logprobs.forEach((lp, k) => (d = Math.max(d, Math.abs(lp - first.logprobs[k]!))));
          console.log(`${name}: ${peer} ${pr.toFixed(0)} cand/s; glam is ${(glamRate / pr).toFixed(2)}x; max |Δ logprob| vs glam ${d.toExponential(2)}`);
          r[peer] = { seconds: out[peer].seconds, candPerSec: pr, ratio: glamRate / pr, maxAbsDiff: d };
          const cell = `${pr.toFixed(0)} cand/s (glam ${(glamRate / pr).toFixed(2)}x)`;
          if (peer === 'naive') naiveCell = cell;
          else lamCell = cell;
        }
      } else {
        naiveCell = lamCell = 'peer failed (see above)';
      }
    }
    results[name] = r;
    rows.push(`| ${name} B=${s.B} P=${s.P} K=${s.K} A=${s.A} | ${glamRate.toFixed(0)} cand/s | ${(share * 100).toFixed(1)}% | ${naiveCell} | ${lamCell} |`);
    await policy.dispose();
  }
  let t5Table = '';
  const t5 = arg('t5', 'flan-t5-small');
  if (t5 && !process.argv.includes('--no-t5')) {
    const t = await t5Section(t5, 32, reps, peers);
    results.t5 = t.results;
    t5Table = `\n\n| T5 shape | glam fused (bf16) | PyTorch Lamorel way (bf16) | ratio |\n|---|---|---|---|\n${t.row}`;
  }
  let trainTable = '';
  if (!process.argv.includes('--no-train')) {
    const t = await trainSection(arg('train-shapes', 'gpt2-small,qwen2-0.5b').split(','), rate.tflops, reps, peers, forwardFlops);
    results.train = t.results;
    trainTable = `\n\n| training update (bf16) | glam | PyTorch Lamorel way | ratio | roofline share |\n|---|---|---|---|---|\n${t.rows.join('\n')}`;
  }
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`\n| shape | glam fused (bf16) | roofline share | HF naive | Lamorel way |\n|---|---|---|---|---|\n${rows.join('\n')}${t5Table}${trainTable}`);
}

await main();
