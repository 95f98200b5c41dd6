// bench/ppo: end-to-end PPO throughput of glam's trainer (what `glam train` runs) on GLAM's shape —
// 32 envs x 40 steps per update, 4 epochs of minibatches of 64, GLAM's prompt with 3 observations of
// memory, 6 candidate actions, BabyAI-MixedTrainLocal — split into env time (stepping + text),
// scoring time (one fused score call per rollout step) and update time (forward with grad, backward,
// AdamW step, each timed), so the bottleneck is visible.
// Models: `builtin` (the built-in 2x128 Llama, GLAM's 1024-1024 value head) and `gpt2-small`
// (bench/models/gpt2-small, 124M parameters, GPT-2's tokenizer). An update of gpt2-small at GLAM's
// 1280 transitions takes most of an hour on 2 cores, so its default rollout is 4 steps (128
// transitions; frames/s does not depend on the rollout length beyond the first update's warm-up:
// every phase's cost is per transition). Timing: the first update is a warm-up and is reported
// apart; frames/s is over the updates after it (or the only one).
// No peer: GLAM's own stack (Lamorel + BabyAI-Text) is not installable from a registry; bench/train
// compares the update step with PyTorch done Lamorel's way, bench/env the env with MiniGrid.
// --learners 1,2 (data parallel, lib/ppo/learners.ts): each count runs the same job (the same envs and
// minibatches in total) with the threads divided among the learners, L > 1 under mpirun (this script
// starts itself as `mpirun -np L ... --as-learners L`; rank 0 prints its row as JSON); the row adds the
// gradient all-reduce's time (rank 0's, waiting for the slower learner included) as a share of the
// update time, and the bytes each learner all-reduces per update.
// Usage: npm run build && node dist/bench/ppo.js [--models builtin,gpt2-small] [--threads N]
//        [--updates N] [--steps N] [--envs 32] [--mode full|lora] [--learners 1,2]
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

import { findOnPath, mpirunCommand } from '../lib/cli/learners-launch.js';
import { SINGLE_LEARNER, mpiLearners, type Learners } from '../lib/ppo/learners.js';

import { Policy } from '../lib/policy/policy.js';
import { resolvePpoConfig } from '../lib/ppo/config.js';
import { presetFor } from '../lib/ppo/presets.js';
import { trainPpo, type UpdateReport } from '../lib/ppo/trainer.js';
import { benchModelDir } from './glam-batch.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Per model: rollout steps per env and updates, when not given on the command line. */
const DEFAULTS: Record<string, { steps: number; updates: number }> = {
  builtin: { steps: 40, updates: 3 },
  'gpt2-small': { steps: 4, updates: 1 },
};

interface Row {
  model: string;
  frames: number;
  seconds: number;
  env: number;
  scoring: number;
  forward: number;
  backward: number;
  step: number;
  update: number;
  warmup: number;
  success: number;
  learners: number;
  threads: number;
  allreduce: number;
  bytesPerUpdate: number;
  /** Seconds of one averageGradients (copy out, all-reduce, copy back) with the learners in step, and its bytes. */
  allreduceAlone: number;
  gradientBytes: number;
  /** Gradient all-reduces in the timed updates. */
  allreduceCalls: number;
}

/** Wraps policy.forward/backward/step (and zeroGrad, counted with step) to sum their wall time. */
function timeUpdateCalls(policy: Policy): { forward: number; backward: number; step: number; reset(): void } {
  const t = { forward: 0, backward: 0, step: 0, reset() { t.forward = t.backward = t.step = 0; } };
  const wrap = <K extends 'forward' | 'backward' | 'step' | 'zeroGrad'>(name: K, into: 'forward' | 'backward' | 'step') => {
    const orig = (policy[name] as (...a: unknown[]) => Promise<unknown>).bind(policy);
    (policy as unknown as Record<string, unknown>)[name] = async (...a: unknown[]) => {
      const t0 = performance.now();
      try {
        return await orig(...a);
      } finally {
        t[into] += (performance.now() - t0) / 1000;
      }
    };
  };
  wrap('forward', 'forward');
  wrap('backward', 'backward');
  wrap('step', 'step');
  wrap('zeroGrad', 'step');
  return t;
}

async function benchModel(model: string, threads: number, envs: number, mode: 'full' | 'lora', L: Learners = SINGLE_LEARNER): Promise<Row> {
  const d = DEFAULTS[model] ?? { steps: 40, updates: 2 };
  const steps = Number(arg('steps', String(d.steps)));
  const updates = Number(arg('updates', String(d.updates)));
  const policy = await Policy.load(model === 'builtin' ? undefined : benchModelDir(model), { threads, device: 'cpu' });
  policy.enableTraining(mode === 'lora' ? { mode: 'lora', rank: 8, alpha: 16 } : { mode: 'full' });
  const cfg = resolvePpoConfig({ ...presetFor('glam'), numEnvs: envs, numSteps: steps, totalFrames: updates * envs * steps }, 'glam');
  // the all-reduce alone: learners in step (agree is a barrier), 10 averageGradients of the real gradient
  let allreduceAlone = 0;
  const gradientBytes = (policy.trainingInfo().trainableParams ?? 0) * 4;
  if (L.size > 1) {
    await L.averageGradients(policy);
    await L.agree(false);
    const a0 = performance.now();
    for (let i = 0; i < 10; i++) await L.averageGradients(policy);
    allreduceAlone = (performance.now() - a0) / 10000;
    L.takeStats();
  }
  const calls = timeUpdateCalls(policy);
  const reports: (UpdateReport & { forward: number; backward: number; step: number; seconds: number })[] = [];
  let t0 = performance.now();
  await trainPpo(policy, cfg, {
    learners: L,
    onUpdate: (r) => {
      if (!L.isRoot) return;
      const seconds = (performance.now() - t0) / 1000;
      reports.push({ ...r, forward: calls.forward, backward: calls.backward, step: calls.step, seconds });
      const m = r.metrics;
      console.log(`  ${model} update ${r.update}/${cfg.numUpdates}: ${cfg.batchSize} frames in ${seconds.toFixed(1)} s ` +
        `(${(cfg.batchSize / seconds).toFixed(1)} frames/s): env ${r.timing.env.toFixed(2)} s, scoring ${r.timing.scoring.toFixed(2)} s, ` +
        `update ${r.timing.update.toFixed(2)} s (forward ${calls.forward.toFixed(2)}, backward ${calls.backward.toFixed(2)}, step ${calls.step.toFixed(2)}` +
        `${L.size > 1 ? `, all-reduce ${r.timing.allreduce.toFixed(2)} s of ${(r.allreduceBytes / 1e6).toFixed(1)} MB` : ''}); ` +
        `success ${(m['charts/success_rate'] ?? NaN).toFixed(2)}`);
      calls.reset();
      t0 = performance.now();
    },
  });
  await policy.dispose();
  const timed = reports.length > 1 ? reports.slice(1) : reports;
  const sum = (f: (r: (typeof reports)[number]) => number) => timed.reduce((s, r) => s + f(r), 0);
  return {
    model,
    frames: timed.length * cfg.batchSize,
    seconds: sum((r) => r.seconds),
    env: sum((r) => r.timing.env),
    scoring: sum((r) => r.timing.scoring),
    update: sum((r) => r.timing.update),
    forward: sum((r) => r.forward),
    backward: sum((r) => r.backward),
    step: sum((r) => r.step),
    warmup: reports[0]?.seconds ?? 0,
    success: sum((r) => r.metrics['charts/success_rate'] ?? 0) / timed.length,
    learners: L.size,
    threads,
    allreduce: sum((r) => r.timing.allreduce),
    bytesPerUpdate: reports[0]?.allreduceBytes ?? 0,
    allreduceAlone,
    gradientBytes,
    allreduceCalls: gradientBytes > 0 ? sum((r) => r.allreduceBytes) / gradientBytes : 0,
  };
}

/** The same job with `n` learners under mpirun, threads divided among them: rank 0's row. */
function benchUnderMpi(model: string, n: number, threads: number): Row {
  const mpirun = findOnPath('mpirun');
  if (!mpirun) throw new Error('--learners > 1 needs mpirun on the PATH (apt-get install openmpi-bin libopenmpi-dev)');
  const args = process.argv.slice(2).filter((_, i, a) => !['--models', '--learners', '--threads'].includes(a[i]!) && !['--models', '--learners', '--threads'].includes(a[i - 1]!));
  const cmd = mpirunCommand({ mpirun, n, cli: process.argv[1]!, args: [...args, '--models', model, '--as-learners', String(n)], threads, root: process.getuid?.() === 0, cores: availableParallelism() });
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = (r.stdout ?? '').split('\n');
  for (const l of lines) if (l.startsWith('  ')) console.log(l);
  const row = lines.find((l) => l.startsWith('ROW '));
  if (r.status !== 0 || !row) throw new Error(`mpirun -np ${n} exited ${r.status}`);
  return JSON.parse(row.slice(4)) as Row;
}

async function main(): Promise<void> {
  const models = arg('models', 'builtin,gpt2-small').split(',');
  const threads = Number(arg('threads', String(availableParallelism())));
  const envs = Number(arg('envs', '32'));
  const mode = arg('mode', 'full') === 'lora' ? 'lora' : 'full';
  const asLearners = Number(arg('as-learners', '0'));
  if (asLearners > 0) { // one learner of benchUnderMpi's job
    const L = mpiLearners({ expected: asLearners });
    const row = await benchModel(models[0]!, threads, envs, mode, L);
    if (L.isRoot) console.log(`ROW ${JSON.stringify(row)}`);
    L.close();
    return;
  }
  const learnerCounts = arg('learners', '1').split(',').map(Number);
  console.log(`glam bench/ppo: GLAM's PPO (${envs} envs, 4 epochs x minibatch 64, 3-observation prompts, 6 candidates, ` +
    `BabyAI-MixedTrainLocal), ${mode} fine-tuning, ${threads} threads; frames/s over the updates after the first (warm-up)`);
  const rows: Row[] = [];
  for (const m of models) {
    for (const n of learnerCounts) {
      if (n > 1) console.log(`${m}: ${n} learners x ${Math.max(1, Math.floor(threads / n))} threads under mpirun`);
      rows.push(n > 1 ? benchUnderMpi(m, n, threads) : await benchModel(m, threads, envs, mode));
    }
  }
  const pct = (x: number, r: Row) => `${((100 * x) / r.seconds).toFixed(1)}%`;
  const multi = learnerCounts.some((n) => n > 1);
  console.log(`\n| model |${multi ? ' learners x threads |' : ''} frames | frames/s | env | scoring | update (forward / backward / step) | other | first update s |` +
    `${multi ? ' all-reduce share of update | all-reduce bytes per update per learner |' : ''}`);
  console.log(`|---|${multi ? '---|' : ''}---|---|---|---|---|---|---|${multi ? '---|---|' : ''}`);
  for (const r of rows) {
    const other = r.seconds - r.env - r.scoring - r.update;
    console.log(`| ${r.model} |${multi ? ` ${r.learners} x ${Math.max(1, Math.floor(r.threads))} |` : ''} ${r.frames} | ${(r.frames / r.seconds).toFixed(2)} | ` +
      `${r.env.toFixed(2)} s (${pct(r.env, r)}) | ` +
      `${r.scoring.toFixed(2)} s (${pct(r.scoring, r)}) | ${r.update.toFixed(2)} s (${pct(r.update, r)}: ${r.forward.toFixed(2)} / ` +
      `${r.backward.toFixed(2)} / ${r.step.toFixed(2)}) | ${other.toFixed(2)} s (${pct(other, r)}) | ${r.warmup.toFixed(1)} |` +
      `${multi ? ` ${r.learners > 1 ? `${((100 * r.allreduce) / r.update).toFixed(1)}% (${r.allreduce.toFixed(2)} s)` : '-'} | ${r.learners > 1 ? `${(r.bytesPerUpdate / 1e6).toFixed(1)} MB` : '-'} |` : ''}`);
  }
  for (const r of rows.filter((x) => x.learners > 1)) {
    const one = rows.find((x) => x.model === r.model && x.learners === 1);
    if (one) {
      console.log(`${r.model}: ${r.learners} learners x ${r.threads} threads ${(r.frames / r.seconds).toFixed(2)} frames/s vs its peer, 1 learner x ` +
        `${one.threads} threads ${(one.frames / one.seconds).toFixed(2)}: ${((r.frames / r.seconds) / (one.frames / one.seconds)).toFixed(2)}x`);
    }
    console.log(`${r.model}, ${r.learners} learners: one averageGradients of ${(r.gradientBytes / 1e6).toFixed(2)} MB with the learners in step ` +
      `takes ${(1000 * r.allreduceAlone).toFixed(2)} ms (${(r.gradientBytes / r.allreduceAlone / 1e9).toFixed(2)} GB/s algbw, ` +
      `${((r.gradientBytes / r.allreduceAlone / 1e9) * 2 * (r.learners - 1) / r.learners).toFixed(2)} GB/s busbw); in the updates the all-reduce ` +
      `averaged ${((1000 * r.allreduce) / Math.max(1, r.allreduceCalls)).toFixed(2)} ms per call (waiting for the slower learner included)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
