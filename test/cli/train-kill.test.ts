// Crash consistency of `glam train`, with real child processes (the CLI bundled: train-bundle.ts):
// - kill -9 at >= 50 seeded random moments across startup, resume, rollouts, updates and saves (a
//   checkpoint after every update; sessions that finish save final/, later ones extend the run): after
//   every kill, every checkpoint and final/ is complete (its manifest verifies), loads and evaluates;
//   every resume succeeds; at the end metrics.jsonl holds each update exactly once, state.json is
//   consistent and no temporary is left.
// - SIGTERM behaves like SIGINT: during an update's epochs the run stops at the next minibatch (a
//   partial update, logged and saved once), exits 0; a second SIGTERM exits 143 at once and the run
//   still resumes.
// Subtle: the kill moments come from a seeded Rng, but where they land depends on the machine's speed;
// the counts (kills, kills that left a save's temporaries, resumes, checkpoints loaded) are printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, expect, test } from 'vitest';

import { evaluate } from '../../lib/agent/evaluate.js';
import { initModel } from '../../lib/model/init-model.js';
import { Policy } from '../../lib/policy/policy.js';
import { readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { isTemporary, readManifest } from '../../lib/ppo/run-files.js';
import { Rng } from '../../lib/util/rng.js';
import { stopOnSignals } from '../../lib/cli/train.js';
import { bundleCli } from './train-bundle.js';

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
const BATCH = 8; // 2 envs x 4 steps
let root: string;
let model: string;
let cli: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'glam-kill-'));
  model = join(root, 'model');
  initModel(model, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 5 });
  cli = await bundleCli();
});

interface Session { child: ChildProcess; err: string; out: string; started: Promise<void>; exit: Promise<number | null> }

function start(args: string[]): Session {
  const child = spawn(process.execPath, [cli, 'train', '--threads', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLAM_DEVICE: 'cpu' } });
  const s: Session = { child, err: '', out: '', started: Promise.resolve(), exit: Promise.resolve(null) };
  s.started = new Promise((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      s.err += d.toString();
      if (s.err.includes('glam train: ')) resolve();
    });
    child.on('exit', () => resolve());
  });
  child.stdout!.on('data', (d: Buffer) => void (s.out += d.toString()));
  s.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const updates = (dir: string) => readJsonl(join(dir, 'metrics.jsonl')).map((r) => (r as { update: number }).update);

/** Every temporary anywhere under `dir`. */
function temporaries(dir: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (isTemporary(e.name)) found.push(join(dir, e.name));
    else if (e.isDirectory()) found.push(...temporaries(join(dir, e.name)));
  }
  return found;
}

/** The saved policies of a run: checkpoints/update-N and final/. */
function savedPolicies(dir: string): string[] {
  const ck = existsSync(join(dir, 'checkpoints')) ? readdirSync(join(dir, 'checkpoints')).filter((n) => !isTemporary(n)).map((n) => join(dir, 'checkpoints', n)) : [];
  return [...ck, ...(existsSync(join(dir, 'final')) ? [join(dir, 'final')] : [])];
}

const checked = new Set<string>();
/** Each saved policy not seen before (by path and update): its manifest verifies, it loads, it plays. */
async function checkSaved(dir: string): Promise<number> {
  let n = 0;
  for (const p of savedPolicies(dir)) {
    const m = readManifest(p);
    expect(m, `${p} is under its real name without a manifest that verifies`).not.toBeNull();
    const key = `${p}@${m!.update}`;
    if (checked.has(key)) continue;
    checked.add(key);
    expect(m!.files.map((f) => f.name)).toContain('tokenizer.json');
    const policy = await Policy.load(p, { threads: 1, device: 'cpu', valueHidden: [64, 64] });
    try {
      const r = await evaluate(policy, { level: LEVEL, episodes: 1, numEnvs: 1, seed: 7, memory: { observations: 1, actions: 0 } });
      expect(r.episodes).toBe(1);
    } finally {
      await policy.dispose();
    }
    n++;
  }
  return n;
}

test('kill -9 at 50+ random moments: every resume succeeds, every checkpoint and final/ loads and plays, each update logged once, nothing left behind', async () => {
  const dir = join(root, 'run');
  const rng = new Rng(2026);
  const counts = { kills: 0, killsMidSave: 0, killsAfterAnUpdate: 0, resumes: 0, finished: 0, loaded: 0, sessions: 0 };
  // the first session creates the run; each later one resumes it with a few more updates than are logged
  let args = ['--model', model, '--level', LEVEL, '--envs', '2', '--steps', '4', '--epochs', '1', '--frames', String(40 * BATCH), '--checkpoint-every', '1', '--seed', '1', '--run', dir];
  while (counts.kills < 50) {
    const s = start(args);
    counts.sessions++;
    // a fifth of the kills land anywhere from the start (loading, resuming); the rest during training
    const early = rng.nextFloat() < 0.2;
    if (early) await sleep(rng.nextFloat() * 600);
    else {
      await s.started;
      await sleep(rng.nextFloat() * 1000);
    }
    const killed = s.child.exitCode === null && s.child.kill('SIGKILL');
    const code = await s.exit;
    if (killed && code === null) {
      counts.kills++;
      if (/^update \d+\//m.test(s.err)) counts.killsAfterAnUpdate++;
    }
    else {
      expect(code, s.err).toBe(0);
      if (/glam train: done/.test(s.out)) counts.finished++;
    }
    if (/^glam train: resuming /m.test(s.err)) counts.resumes++;
    if (temporaries(dir).length > 0) counts.killsMidSave++;
    counts.loaded += await checkSaved(dir);
    const logged = updates(dir);
    args = ['--resume', dir, '--frames', String((Math.max(0, ...logged) + 1 + Math.floor(rng.nextFloat() * 4)) * BATCH)];
  }
  // one last session runs to its end
  const last = start(['--resume', dir, '--frames', String((Math.max(0, ...updates(dir)) + 2) * BATCH)]);
  expect(await last.exit, last.err).toBe(0);
  counts.resumes++;
  counts.loaded += await checkSaved(dir);
  const logged = updates(dir);
  expect(logged).toEqual(Array.from({ length: logged.length }, (_, i) => i + 1));
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  expect(state).toMatchObject({ update: logged.length, finished: true, checkpoint: { update: logged.length, path: 'final' } });
  expect(readManifest(join(dir, 'final'))!.update).toBe(logged.length);
  expect(temporaries(dir)).toEqual([]);
  console.log(`kill test: ${counts.kills} kills (${counts.killsAfterAnUpdate} after an update of their session, ${counts.killsMidSave} left a save's temporaries), ` +
    `${counts.sessions + 1} sessions, ` +
    `${counts.resumes} resumes, ${counts.finished} finished before their kill, ${counts.loaded} saved policies loaded and evaluated, ${logged.length} updates logged once each`);
}, 900_000);

test('SIGTERM saves at the next minibatch and exits 0; a second SIGTERM exits 143 at once; the run resumes', async () => {
  const dir = join(root, 'term');
  // 400 gradient steps of one transition per update: an update's epochs take far longer than its rollout
  const s = start(['--model', model, '--level', LEVEL, '--envs', '2', '--steps', '4', '--epochs', '50', '--minibatch', '1', '--frames', String(1000 * BATCH), '--run', dir]);
  await new Promise<void>((resolve) => s.child.stderr!.on('data', () => { if (/update 1\/1000 {2}frames/.test(s.err)) resolve(); }));
  await sleep(300);
  s.child.kill('SIGTERM');
  expect(await s.exit, s.err).toBe(0);
  expect(s.err).toMatch(/SIGTERM: stopping/);
  expect(s.out).toMatch(/^glam train: stopped at update 2\/1000 .*checkpoint .*update-2; continue with: glam train --resume /);
  const records = readJsonl(join(dir, 'metrics.jsonl')) as Record<string, number>[];
  expect(records.map((r) => r.update)).toEqual([1, 2]);
  expect(records[0]!['perf/gradient_steps']).toBe(400);
  expect(records[1]!['perf/gradient_steps']).toBeLessThan(400); // stopped between minibatches
  expect(readManifest(join(dir, 'checkpoints', 'update-2'))).toMatchObject({ update: 2 });

  const t = start(['--resume', dir]);
  await new Promise<void>((resolve) => t.child.stderr!.on('data', () => { if (/update 3\/1000 {2}frames/.test(t.err)) resolve(); }));
  t.child.kill('SIGTERM');
  // the second signal once the first is being handled (the minibatch in flight still runs)
  await new Promise<void>((resolve) => t.child.stderr!.on('data', () => { if (/SIGTERM: stopping/.test(t.err)) resolve(); }));
  t.child.kill('SIGTERM');
  // 143 when the second signal came before the stop was done (it may not have: the stop is quick)
  expect([0, 143], t.err).toContain(await t.exit);
  const u = start(['--resume', dir]);
  await u.started;
  expect(u.err).toMatch(/^glam train: resuming .* at update \d+\/1000 from .*update-\d+\n/);
  u.child.kill('SIGKILL');
  await u.exit;
}, 300_000);

test('the signal handler: the first SIGINT or SIGTERM aborts the run signal, a second exits at once with 130 or 143', () => {
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    let err = '';
    const exits: number[] = [];
    const stop = stopOnSignals({ out: () => {}, err: (x) => void (err += x) }, (c) => void exits.push(c));
    try {
      stop.handle(sig);
      expect(stop.signal.aborted).toBe(true);
      expect(exits).toEqual([]);
      expect(err).toMatch(new RegExp(`${sig}: stopping .*next minibatch`));
      stop.handle(sig);
      expect(exits).toEqual([code]);
    } finally {
      stop.dispose();
    }
  }
});
