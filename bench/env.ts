// bench/env: BabyAI-Text env steps per second on one thread, text rendering included (GLAM's
// descriptions at every step), with random actions, against Python MiniGrid stepping the same levels
// in the same run (bench/env_minigrid.py: no rendering, no text), and the ratio (target ≥ 20×).
// Levels: BabyAI-GoToLocal-v0 and BabyAI-MixedTrainLocal-v0 (rebuilt on MiniGrid's LevelGen on the
// Python side, which MiniGrid does not ship). Both sides: uniformly random actions among GLAM's six,
// drawn beforehand, reset when an episode ends (resets are part of the timed loop).
// Timings are medians of --repeats runs (the machine may be shared); each glam configuration runs in
// its own Node process (one level's classes would otherwise slow the next one's inline caches).
// Usage: npm run build && node dist/bench/env.js [--steps 200000] [--python-steps 20000] [--seed 0] [--repeats 3]
//        [--levels BabyAI-GoToLocal-v0,BabyAI-MixedTrainLocal-v0] [--python python3]
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { makeEnv } from '../lib/env/registry.js';
import { Rng } from '../lib/util/rng.js';
import { packageRoot } from '../lib/util/package-root.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

interface Row {
  level: string;
  sps: number;
  episodes: number;
}

/** Steps `steps` random actions through one env (text on or off); median steps per second over `repeats`. */
function benchOurs(level: string, steps: number, seed: number, text: boolean, repeats: number): Row {
  const env = makeEnv(level, { seed, text });
  const rng = new Rng(seed);
  const actions = new Uint8Array(steps);
  for (let t = 0; t < steps; t++) actions[t] = rng.randInt(0, 6);
  let chars = 0; // keeps the text alive so that nothing is optimised away
  const run = (n: number): number => {
    let episodes = 0;
    env.reset({ seed });
    for (let t = 0; t < n; t++) {
      const r = env.step(actions[t]!);
      chars += r.obs.descriptions.length;
      if (r.done) {
        episodes++;
        env.reset();
      }
    }
    return episodes;
  };
  run(Math.min(steps, 20_000)); // warm-up: JIT, caches of the text tables
  const runs: number[] = [];
  let episodes = 0;
  for (let k = 0; k < repeats; k++) {
    const t0 = performance.now();
    episodes = run(steps);
    runs.push((performance.now() - t0) / 1000);
  }
  if (chars < 0) console.log(chars);
  runs.sort((a, b) => a - b);
  return { level, sps: steps / runs[runs.length >> 1]!, episodes };
}

interface PyResult {
  minigrid?: string;
  python?: string;
  error?: string;
  results?: { level: string; sps: number; episodes: number; note: string }[];
}

function benchMiniGrid(python: string, levels: string[], steps: number, seed: number, repeats: number): PyResult {
  const script = join(packageRoot(), 'bench', 'env_minigrid.py');
  const p = spawnSync(python, [script, '--steps', String(steps), '--seed', String(seed), '--repeats', String(repeats), ...levels], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (p.error !== undefined) return { error: `cannot run ${python}: ${p.error.message}` };
  const last = p.stdout.trim().split('\n').at(-1) ?? '';
  try {
    const j = JSON.parse(last) as PyResult;
    if (j.error === undefined && p.status !== 0) return { error: `${python} exited with ${p.status}: ${p.stderr.trim().split('\n').at(-1) ?? ''}` };
    return j;
  } catch {
    return { error: `${python} printed no result (exit ${p.status}): ${p.stderr.trim().split('\n').at(-1) ?? ''}` };
  }
}

/** Runs benchOurs in a fresh Node process, so that one level's classes do not make the next one's call sites polymorphic. */
function benchOursIsolated(level: string, steps: number, seed: number, text: boolean, repeats: number): Row {
  const args = [process.argv[1]!, '--worker', level, '--text', String(text), '--steps', String(steps), '--seed', String(seed), '--repeats', String(repeats)];
  const p = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`bench worker failed: ${p.stderr}`);
  return JSON.parse(p.stdout.trim().split('\n').at(-1)!) as Row;
}

function main(): void {
  const worker = arg('worker', '');
  if (worker !== '') {
    console.log(JSON.stringify(benchOurs(worker, Number(arg('steps', '200000')), Number(arg('seed', '0')), arg('text', 'true') === 'true', Number(arg('repeats', '3')))));
    return;
  }
  const steps = Number(arg('steps', '200000'));
  const pySteps = Number(arg('python-steps', '20000'));
  const seed = Number(arg('seed', '0'));
  const levels = arg('levels', 'BabyAI-GoToLocal-v0,BabyAI-MixedTrainLocal-v0').split(',');
  const python = arg('python', 'python3');
  const repeats = Number(arg('repeats', '3'));
  console.log(`glam bench/env: one thread, random actions among GLAM's 6, auto-reset; glam ${steps} steps, ` +
    `MiniGrid ${pySteps} steps per level; median of ${repeats} runs`);
  const withText = levels.map((l) => benchOursIsolated(l, steps, seed, true, repeats));
  const noText = levels.map((l) => benchOursIsolated(l, steps, seed, false, repeats));
  const py = benchMiniGrid(python, levels, pySteps, seed, repeats);
  if (py.error !== undefined) console.log(`MiniGrid skipped: ${py.error} (pip install minigrid to compare)`);
  else console.log(`MiniGrid ${py.minigrid} on Python ${py.python} (no text rendering)`);
  const header = `${'level'.padEnd(28)} ${'glam+text'.padStart(12)} ${'glam no text'.padStart(13)} ${'MiniGrid'.padStart(10)} ${'ratio'.padStart(7)}`;
  console.log(header);
  for (const [k, level] of levels.entries()) {
    const ours = withText[k]!.sps;
    const theirs = py.results?.find((r) => r.level === level);
    const ratio = theirs === undefined ? '-' : `${(ours / theirs.sps).toFixed(1)}x`;
    console.log(
      `${level.padEnd(28)} ${ours.toFixed(0).padStart(12)} ${noText[k]!.sps.toFixed(0).padStart(13)} ` +
      `${theirs === undefined ? '-'.padStart(10) : theirs.sps.toFixed(0).padStart(10)} ${ratio.padStart(7)}` +
      (theirs?.note ? `   (MiniGrid side: ${theirs.note})` : ''),
    );
  }
  console.log('steps/s; ratio = glam with text / MiniGrid without text (target >= 20x)');
}

main();
