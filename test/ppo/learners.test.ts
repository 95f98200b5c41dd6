// Data-parallel learners (lib/ppo/learners.ts): the sharding and seeding rules, the collective
// timeout, and with MPI (2 learners under mpirun, test/ppo/learners-worker.ts) CleanRL's guarantee:
// after an update the replicas are bit-identical, and they equal one learner fed the same total
// batch up to summation order. Tolerances: the averaged flat gradient within 1e-6 of the single
// learner's (max abs difference over max abs value); parameters after one AdamW update within 1e-6
// relative (L2 of the difference over L2 of the parameters).
// Subtle: the MPI part needs mpirun and build/Release/glam_mpi.node (.ci/run installs Open MPI); without
// them it is skipped and its name says why.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GlamError } from '../../lib/errors.js';
import { findOnPath } from '../../lib/cli/learners-launch.js';
import { initModel } from '../../lib/model/init-model.js';
import { collectiveAddonPaths } from '../../lib/native/collective.js';
import { SINGLE_LEARNER, learnerEnvSeed, learnerTimeoutS, shardSizes, withTimeout } from '../../lib/ppo/learners.js';
import { bundleEntry } from '../cli/train-bundle.js';

describe('sharding, seeding and the collective timeout', () => {
  it('splits envs and minibatches evenly over the learners, or says what to change', () => {
    expect(shardSizes(32, 64, 4)).toEqual({ envs: 8, minibatch: 16 });
    expect(shardSizes(32, 64, 1)).toEqual({ envs: 32, minibatch: 64 });
    expect(() => shardSizes(6, 8, 4)).toThrow(/multiples of 4.*--envs \/ --minibatch or --learners/);
  });

  it("seeds learner r's env i as the job's env r x localEnvs + i under GLAM's 100 x seed + index", () => {
    const seeds = [0, 1].flatMap((r) => [0, 1, 2].map((i) => learnerEnvSeed(r, 3)(7, i)));
    expect(seeds).toEqual([700, 701, 702, 703, 704, 705]); // = one learner's 6 envs
  });

  it('a collective that does not finish in time is LearnerLost (never a hang)', async () => {
    let lost: GlamError | undefined;
    const t0 = performance.now();
    const p = withTimeout(new Promise<void>(() => {}), 'the gradient all-reduce', 0.2, (e) => void (lost = e));
    await expect(p).rejects.toMatchObject({ code: 'LearnerLost' });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(lost?.message).toMatch(/waited 0.2 s for the other learners.*resume it with the same --learners/);
    await expect(withTimeout(Promise.resolve(3), 'x', 1, () => {})).resolves.toBe(3);
  });

  it('GLAM_LEARNER_TIMEOUT_S sets the timeout (600 s by default)', () => {
    expect(learnerTimeoutS({})).toBe(600);
    expect(learnerTimeoutS({ GLAM_LEARNER_TIMEOUT_S: '30' })).toBe(30);
    expect(() => learnerTimeoutS({ GLAM_LEARNER_TIMEOUT_S: 'soon' })).toThrow(/positive number/);
  });

  it('one learner is the identity: its values, its stop', async () => {
    expect(await SINGLE_LEARNER.agree(true)).toBe(true);
    expect(Array.from(await SINGLE_LEARNER.sum(new Float64Array([1, 2])))).toEqual([1, 2]);
    expect(await SINGLE_LEARNER.share({ a: 1 })).toEqual({ a: 1 });
  });
});

const mpirun = findOnPath('mpirun');
const addon = existsSync(collectiveAddonPaths().mpi);
const why = !mpirun ? ' (skipped: no mpirun on the PATH; apt-get install openmpi-bin libopenmpi-dev)' : !addon ? ' (skipped: glam_mpi.node is not built)' : '';

if (why !== '' && process.env.GLAM_EXPECT_MPI === '1') {
  it('MPI is expected here (GLAM_EXPECT_MPI=1, as in CI)', () => expect.fail(`the multi-learner tests cannot run${why}`));
}

describe.skipIf(why !== '')(`2 learners under mpirun${why}`, () => {
  let root: string;
  const read = (name: string) => { const b = readFileSync(join(root, `${name}.bin`)); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'glam-learners-'));
    initModel(join(root, 'model'), { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 3 });
    const worker = await bundleEntry(join('test', 'ppo', 'learners-worker.ts'), 'learners-worker');
    const env = { ...process.env, GLAM_DEVICE: 'cpu' };
    const run = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    };
    run(mpirun!, ['-np', '2', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '--bind-to', 'none', process.execPath, worker, root, join(root, 'model'), 'mpi']);
    run(process.execPath, [worker, root, join(root, 'model'), 'single']);
  }, 180_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const l2 = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

  it("the averaged gradient of a minibatch split over 2 learners is the single learner's, within 1e-6", () => {
    const [g0, g1, g] = [read('grad-rank0'), read('grad-rank1'), read('grad-single')];
    expect(g0.length).toBe(g.length);
    expect(Buffer.compare(Buffer.from(g0.buffer), Buffer.from(g1.buffer))).toBe(0); // the same bits on both ranks
    const diff = maxAbs(g0.map((x, i) => x - g[i]!));
    console.log(`gradient: ${g.length} values, max |2 learners - 1| = ${diff.toExponential(2)} of max |g| = ${maxAbs(g).toExponential(2)}`);
    expect(maxAbs(g)).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(1e-6 * maxAbs(g));
  });

  for (const algo of ['bc', 'ppo'] as const) {
    it(`after one ${algo.toUpperCase()} update every parameter is identical on both ranks`, () => {
      const [p0, p1] = [read(`${algo}-rank0`), read(`${algo}-rank1`)];
      expect(p0.length).toBeGreaterThan(1000);
      expect(Buffer.compare(Buffer.from(p0.buffer), Buffer.from(p1.buffer))).toBe(0);
    });
  }

  it('after one BC update the parameters equal a single learner fed the same total batch, within 1e-6 relative', () => {
    const [p, q] = [read('bc-rank0'), read('bc-single')];
    const init = read('init-single');
    const rel = l2(p.map((x, i) => x - q[i]!)) / l2(q);
    const moved = l2(q.map((x, i) => x - init[i]!)) / l2(init);
    console.log(`BC update: ||2 learners - 1 learner|| / ||params|| = ${rel.toExponential(2)}; the update itself moved them by ${moved.toExponential(2)}`);
    expect(moved).toBeGreaterThan(1e-4); // the update is large enough for a wrong average to show
    expect(rel).toBeLessThanOrEqual(1e-6);
  });
});
