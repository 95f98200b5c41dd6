// The learning test (learning.test.ts: its bar, its held-out episodes, learning-bar.ts) with 2 learners:
// `glam train --learners 2` (mpirun underneath, 1 thread each) trains the built-in small model with
// the same preset and seed; each learner runs half of the preset's envs (seeded as the single learner's)
// and half of every minibatch, the gradients averaged before each step. The final policy must pass the
// single learner's bar on the same 200 held-out episodes.
// Subtle: the run is not the single learner's update for update (each learner samples its own actions),
// so this is another draw from the runs the bar was set on. It takes as long as the single-learner test
// (~3-5 min on 2 cores). Needs mpirun and glam_mpi.node (skipped, saying why, without them; with
// GLAM_EXPECT_MPI=1, as in CI, their absence fails).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findOnPath } from '../../lib/cli/learners-launch.js';
import { collectiveAddonPaths } from '../../lib/native/collective.js';
import { Policy } from '../../lib/policy/policy.js';
import { resolvePpoConfig } from '../../lib/ppo/config.js';
import { readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { bundleCli } from '../cli/train-bundle.js';
import { BAR, HELD_OUT, expectLearnt, heldOut, show } from './learning-bar.js';

const why = !findOnPath('mpirun') ? ' (skipped: no mpirun on the PATH; apt-get install openmpi-bin libopenmpi-dev)'
  : !existsSync(collectiveAddonPaths().mpi) ? ' (skipped: glam_mpi.node is not built)' : '';

if (why !== '' && process.env.GLAM_EXPECT_MPI === '1') {
  it('MPI is expected here (GLAM_EXPECT_MPI=1, as in CI)', () => expect.fail(`the 2-learner learning test cannot run${why}`));
}

describe.skipIf(why !== '')(`PPO on the built-in small model with 2 learners${why}`, () => {
  let home: string;
  const saved = process.env.GLAM_HOME;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'glam-learn2-'));
    process.env.GLAM_HOME = home; // rank 0 creates the built-in model here, from its fixed seed
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.GLAM_HOME;
    else process.env.GLAM_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });

  it(`glam train --learners 2 passes the single learner's bar: greedy >= ${BAR.greedy}, sampled >= ${BAR.sampled} on ${HELD_OUT.episodes} held-out episodes`, async () => {
    const cfg = resolvePpoConfig({}, 'small');
    const run = join(home, 'run');
    const cli = await bundleCli();
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, 'train', '--learners', '2', '--threads', '2', '--run', run], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLAM_DEVICE: 'cpu', GLAM_HOME: home },
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code, err.slice(-2000)).toBe(0);
    const seconds = (performance.now() - t0) / 1000;
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'))).toMatchObject({ learners: 2, ppo: { seed: 1, numEnvs: cfg.numEnvs } });
    const records = readJsonl(join(run, 'metrics.jsonl')) as Record<string, number>[];
    expect(records.map((r) => r.update)).toEqual(Array.from({ length: cfg.numUpdates }, (_, i) => i + 1));

    const untrained = await Policy.load(undefined, { threads: 2, device: 'cpu', valueHidden: [...cfg.valueHidden] });
    const before = await heldOut(untrained, cfg);
    await untrained.dispose();
    const trained = await Policy.load(join(run, 'final'), { threads: 2, device: 'cpu' });
    const after = await heldOut(trained, cfg);
    await trained.dispose();
    const allreduce = records.reduce((s, r) => s + (r['perf/allreduce_s'] ?? 0), 0);
    const update = records.reduce((s, r) => s + (r['perf/update_s'] ?? 0), 0);
    console.log(`learning with 2 learners (seed ${cfg.seed}, ${cfg.numUpdates} updates, training ${seconds.toFixed(0)} s, all-reduce ` +
      `${(100 * allreduce / update).toFixed(1)}% of update time): greedy ${show(before.greedy)} -> ${show(after.greedy)}; ` +
      `sampled ${show(before.sampled)} -> ${show(after.sampled)}; training success by update: ` +
      `${records.map((r) => (r['charts/success_rate'] ?? 0).toFixed(2)).join(' ')}`);
    expectLearnt(before, after);
  }, 900_000);
});
