// bench/gpu's T5 section: candidate scores per second of Flan-T5-small's shape (random weights,
// bench/models/flan-t5-small) on GLAM's batch (32 prompts of 140-160 tokens, 6 candidates of 1-3
// tokens), glam's CUDA T5 engine (bf16, fused: the encoder once per prompt, the decoder over every
// candidate) against PyTorch the Lamorel way on the same GPU (bench/t5_lamorel.py --device cuda: the
// encoder output repeated per candidate, a full log-softmax), measured in the same run, with the ratio.
// Subtle: the peer runs in the same dtype as glam (bf16), so max |Δ logprob| is a sanity check at bf16
// resolution, not a parity test (test/gpu/t5.test.ts is that).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Policy } from '../lib/policy/policy.js';
import { packageRoot } from '../lib/util/package-root.js';
import { benchModelDir, glamShapedBatch } from './glam-batch.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** One markdown row (and the JSON results) for the T5 shape `name` with B prompts. */
export async function t5Section(name: string, B: number, reps: number, peers: boolean):
  Promise<{ row: string; results: Record<string, unknown> }> {
  const dir = benchModelDir(name);
  const policy = await Policy.load(dir, { device: 'cuda', precision: 'bf16' });
  try {
    const batch = glamShapedBatch(B, policy.config.vocabSize, 3);
    const N = B * 6;
    await policy.scoreTokens(batch); // eager: plans and workspace
    const first = await policy.scoreTokens(batch);
    const times: number[] = [];
    for (let i = 0; i < reps; ++i) {
      const t0 = performance.now();
      await policy.scoreTokens(batch);
      times.push((performance.now() - t0) / 1e3);
    }
    const glamRate = N / median(times);
    console.log(`T5 ${name}: glam fused ${glamRate.toFixed(0)} cand/s (${(median(times) * 1e3).toFixed(2)} ms/batch of ${B} prompts)`);
    const results: Record<string, unknown> = { glam: { seconds: median(times), candPerSec: glamRate } };
    let peerCell = 'not run (--no-peers)', ratioCell = '';
    if (peers) {
      const tmp = mkdtempSync(join(tmpdir(), 'glam-gpu-t5-'));
      try {
        writeFileSync(join(tmp, 'batch.json'), JSON.stringify(batch));
        const py = spawnSync(process.env.PYTHON ?? 'python3', [join(packageRoot(), 'bench', 't5_lamorel.py'), '--model', dir,
          '--batch', join(tmp, 'batch.json'), '--out', join(tmp, 'out.json'), '--reps', String(Math.min(reps, 5)),
          '--device', 'cuda', '--dtype', 'bf16'], { stdio: 'inherit' });
        if (py.status === 0) {
          const out = JSON.parse(readFileSync(join(tmp, 'out.json'), 'utf8')) as { seconds: number; logprobs: number[]; torch: string };
          const rate = N / out.seconds;
          let d = 0;
          out.logprobs.forEach((lp, k) => (d = Math.max(d, Math.abs(lp - first.logprobs[k]!))));
          console.log(`T5 ${name}: PyTorch ${out.torch} the Lamorel way ${rate.toFixed(0)} cand/s; glam is ${(glamRate / rate).toFixed(2)}x; ` +
            `max |Δ logprob| vs glam ${d.toExponential(2)}`);
          results.lamorel = { seconds: out.seconds, candPerSec: rate, ratio: glamRate / rate, maxAbsDiff: d };
          peerCell = `${rate.toFixed(0)} cand/s`;
          ratioCell = `${(glamRate / rate).toFixed(2)}x`;
        } else {
          peerCell = 'peer failed (see above)';
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    return { row: `| ${name} B=${B} P≈150 K=6 A≤3 | ${glamRate.toFixed(0)} cand/s | ${peerCell} | ${ratioCell} |`, results };
  } finally {
    await policy.dispose();
  }
}
