// The run directory: layout, checkpoint pruning (last 2), state.json, resume truncation (metrics after
// the last checkpoint and newer stale checkpoints are dropped), refusal to reuse a non-empty directory.
// Policy.save is stood in for by a fake that writes a marker file (the real one is tested in test/policy).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, test } from 'vitest';

import type { Policy } from '../../lib/policy/policy.js';
import { resolvePpoConfig } from '../../lib/ppo/config.js';
import { readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { findRunDir, listCheckpoints, openRun, readRunConfig, resumeRun, type RunSpec } from '../../lib/ppo/run-dir.js';

const fakePolicy = {
  save: async (dir: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'glam_training.json'), '{}');
  },
} as unknown as Policy;

const spec = (): RunSpec => ({
  algo: 'ppo', model: '/models/m', training: { mode: 'full' }, checkpointEvery: 2,
  ppo: resolvePpoConfig({ numEnvs: 2, numSteps: 4, minibatchSize: 4, totalFrames: 80, maxGradNorm: Infinity }, 'small'),
});

test('layout, pruning, state, resume from the last checkpoint', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'glam-rundir-')), 'run');
  const run = openRun(dir, spec());
  for (let u = 1; u <= 7; u++) {
    run.logUpdate(u, u * 8, { 'charts/SPS': 100, 'losses/explained_variance': NaN });
    if (u % 2 === 0) await run.saveCheckpoint(fakePolicy, u, u * 8);
  }
  expect(listCheckpoints(dir)).toEqual([4, 6]);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
  expect(state).toMatchObject({ update: 7, frames: 56, checkpoint: { update: 6, frames: 48, path: 'checkpoints/update-6' }, finished: false });
  expect(readdirSync(join(dir, 'tb'))[0]).toMatch(/^events\.out\.tfevents\./);
  expect(readJsonl(join(dir, 'metrics.jsonl'))[0]).toEqual({ step: 8, update: 1, 'charts/SPS': 100, 'losses/explained_variance': null });
  run.close();

  // config.json reads back (Infinity written as null), and the directory is found from its checkpoints
  const cfg = readRunConfig(dir);
  expect(cfg.ppo.maxGradNorm).toBe(Infinity);
  expect(cfg.ppo.numUpdates).toBe(10);
  expect(findRunDir(join(dir, 'checkpoints', 'update-6'))).toBe(dir);
  expect(findRunDir(tmpdir())).toBeNull();

  // a stale checkpoint newer than state.json's (killed between a save and the state write) is dropped
  await fakePolicy.save(join(dir, 'checkpoints', 'update-8'));
  const r = resumeRun(dir);
  expect(r).toMatchObject({ startUpdate: 6, fromCheckpoint: true, policyDir: join(dir, 'checkpoints', 'update-6') });
  expect(listCheckpoints(dir)).toEqual([4, 6]);
  expect(readJsonl(join(dir, 'metrics.jsonl')).map((x) => (x as { update: number }).update)).toEqual([1, 2, 3, 4, 5, 6]);
  r.run.logUpdate(7, 56, { 'charts/SPS': 1 });
  await r.run.saveFinal(fakePolicy, 7, 56);
  expect(r.run.state).toMatchObject({ update: 7, checkpoint: { update: 7, path: 'final' }, finished: true });
  r.run.close();
  expect(readdirSync(join(dir, 'tb'))).toHaveLength(2);

  // more frames continue a finished run from final/; its config.json records the new total
  const more = resumeRun(dir, { totalFrames: 120 });
  expect(more).toMatchObject({ startUpdate: 7, policyDir: join(dir, 'final') });
  expect(readRunConfig(dir).ppo.numUpdates).toBe(15);
  more.run.close();
});

test('refuses a non-empty directory, a missing run, a finished run without more frames', async () => {
  const root = mkdtempSync(join(tmpdir(), 'glam-rundir-'));
  writeFileSync(join(root, 'x'), '');
  expect(() => openRun(root, spec())).toThrow(/not empty/);
  expect(() => resumeRun(join(root, 'nope'))).toThrow(/not a glam run directory/);
  const dir = join(root, 'run');
  const run = openRun(dir, { ...spec(), ppo: resolvePpoConfig({ numEnvs: 2, numSteps: 4, minibatchSize: 4, totalFrames: 8 }, 'small') });
  expect(() => openRun(dir, spec())).toThrow(/--resume/);
  run.logUpdate(1, 8, {});
  await run.saveFinal(fakePolicy, 1, 8);
  run.close();
  expect(() => resumeRun(dir)).toThrow(/finished/);
  expect(existsSync(join(dir, 'final', 'glam_training.json'))).toBe(true);
  // no checkpoint yet: resume starts from the run's model
  const fresh = join(root, 'fresh');
  openRun(fresh, spec()).close();
  const rf = resumeRun(fresh);
  expect(rf).toMatchObject({ startUpdate: 0, fromCheckpoint: false, policyDir: '/models/m' });
  rf.run.close();
});
