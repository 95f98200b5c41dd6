// bench/ab-builds: two builds of glam (two checkouts, each with its dist/ and build/) timed against each
// other in ONE process on the same batch, calls alternated (A B, B A, A B ...), so a shared machine's
// load falls on both alike and each pair gives one after/before ratio. Each checkout's dist/ loads its
// own addon (the process maps both .node files; the script prints which). What bench/score and
// bench/train cannot give on a loaded machine: their single runs of each build are minutes apart.
// Usage: npm run build && node dist/bench/ab-builds.js --before DIR --after DIR [--models llama-256,gpt2-small,smollm2-135m]
//        [--what score,full,lora] [--prompts 8] [--pairs 6] [--threads 2]
// Models are read from the after checkout (bench/glam-batch.ts's benchModelDir).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { Rng } from '../lib/util/rng.js';
import type { Policy as PolicyT } from '../lib/policy/policy.js';
import { benchModelDir, glamShapedBatch } from './glam-batch.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type Build = 'before' | 'after';

async function loadPolicy(root: string, dir: string, threads: number): Promise<PolicyT> {
  const mod = (await import(join(root, 'dist', 'lib', 'policy', 'policy.js'))) as typeof import('../lib/policy/policy.js');
  return mod.Policy.load(dir, { threads, device: 'cpu' });
}

async function main(): Promise<void> {
  const roots: Record<Build, string> = { before: arg('before', ''), after: arg('after', '') };
  if (!roots.before || !roots.after) throw new Error('--before DIR and --after DIR (two built checkouts) are required');
  const models = arg('models', 'llama-256,gpt2-small').split(',');
  const whats = arg('what', 'score,full').split(',');
  const B = Number(arg('prompts', '8'));
  const pairs = Number(arg('pairs', '6'));
  const threads = Number(arg('threads', String(availableParallelism())));
  console.log(`glam bench/ab-builds: B=${B} prompts x K=6, ${pairs} alternated pairs after 1 warm-up each, ${threads} threads`);
  for (const model of models) {
    for (const what of whats) {
      const dir = benchModelDir(model);
      const P = { before: await loadPolicy(roots.before, dir, threads), after: await loadPolicy(roots.after, dir, threads) };
      if (model === models[0] && what === whats[0]) {
        const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('glam_cpu'));
        console.log(`addons mapped: ${[...new Set(maps.map((l) => l.split(/\s+/).pop()))].join(', ')}`);
      }
      const batch = glamShapedBatch(B, P.after.config.vocabSize);
      const rng = new Rng(7);
      const N = batch.candidates.reduce((n, c) => n + c.length, 0);
      const dl = Float32Array.from({ length: N }, () => rng.nextFloat() * 2 - 1);
      const dv = Float32Array.from({ length: B }, () => rng.nextFloat() * 2 - 1);
      if (what !== 'score') {
        for (const p of Object.values(P)) p.enableTraining(what === 'full' ? { mode: 'full' } : { mode: 'lora', rank: 8, alpha: 16 });
      }
      // seconds of each phase: score, or forward+grad, backward, step and their total
      const once = async (p: PolicyT): Promise<number[]> => {
        const t = [performance.now()];
        if (what === 'score') {
          await p.scoreTokens(batch);
          t.push(performance.now());
          return [(t[1]! - t[0]!) / 1000];
        }
        await p.zeroGrad();
        const f = await p.forward({ tokens: batch }, { grad: true });
        t.push(performance.now());
        await p.backward(f.handle, dl, dv);
        t.push(performance.now());
        await p.step({ lr: 1e-6, maxGradNorm: 0.5 });
        t.push(performance.now());
        return [...t.slice(1).map((x, j) => (x - t[j]!) / 1000), (t[3]! - t[0]!) / 1000];
      };
      const T: Record<Build, number[][]> = { before: [], after: [] };
      for (const k of ['before', 'after'] as const) await once(P[k]); // warm-up
      for (let i = 0; i < pairs; ++i)
        for (const k of (i % 2 ? ['after', 'before'] : ['before', 'after']) as Build[]) T[k].push(await once(P[k]));
      const names = what === 'score' ? ['score'] : ['forward+grad', 'backward', 'step', 'total'];
      console.log(`${model} ${what}:`);
      names.forEach((n, j) => {
        const b = T.before.map((r) => r[j]!), a = T.after.map((r) => r[j]!);
        const q = a.map((x, i) => x / b[i]!);
        console.log(`  ${n.padEnd(12)} before ${median(b).toFixed(4)} s (best ${Math.min(...b).toFixed(4)}), after ${median(a).toFixed(4)} s ` +
          `(best ${Math.min(...a).toFixed(4)}); after/before: median pair ${median(q).toFixed(3)} [${Math.min(...q).toFixed(3)}, ` +
          `${Math.max(...q).toFixed(3)}], best/best ${(Math.min(...a) / Math.min(...b)).toFixed(3)}`);
      });
      for (const p of Object.values(P)) await p.dispose();
    }
  }
}

await main();
