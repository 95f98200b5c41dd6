// The collective addons (native/collective, lib/native/collective.ts): the engine addons never link
// MPI (they load on machines without it), glam_mpi.node exports exactly its surface and runs as a
// 1-process job without mpirun (MPI singleton: sum, max, avg and broadcast are the identity), and the
// engines hand out every trainable gradient as one flat buffer that setGradients writes back (both
// asynchronous, on a worker, with typed errors for bad input).
// With GLAM_EXPECT_NCCL_BUILD=1 (.ci/run, which compiles the CUDA sources with NCCL from PyPI's wheel),
// build-cuda/Release/glam_nccl.node must be built and load without a GPU.
// Subtle: the MPI singleton test runs in a child process: MPI_Init once per process, and MPI_Finalize
// must not run inside the test runner's worker.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';

import { loadModelFiles } from '../../lib/io/model-files.js';
import { initModel } from '../../lib/model/init-model.js';
import { cpuAddon } from '../../lib/native/binding.js';
import { collectiveAddonPaths } from '../../lib/native/collective.js';
import { Policy } from '../../lib/policy/policy.js';
import { errorCode } from '../glam-error.js';

const paths = collectiveAddonPaths();
const ldd = spawnSync('ldd', ['--version']).status === 0;

test.runIf(ldd)('the CPU engine addon never links MPI or NCCL', () => {
  const r = spawnSync('ldd', [join(paths.mpi, '..', 'glam_cpu.node')], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout).not.toMatch(/libmpi|libnccl/);
});

describe.skipIf(!existsSync(paths.mpi))(`glam_mpi.node${existsSync(paths.mpi) ? '' : ' (skipped: not built, MPI was not found at build time)'}`, () => {
  it('exports its surface and runs a 1-process job without mpirun', () => {
    const script = `
      const m = require(${JSON.stringify(paths.mpi)});
      (async () => {
        const i = m.init();
        const a = new Float32Array([1, -2, 3]); await m.allreduce(a, 'avg');
        const b = new Float64Array([4, 5]); await m.allreduce(b, 'max');
        const c = new Uint8Array([7, 8]); await m.broadcast(c, 0);
        await m.barrier();
        let bad = ''; try { await m.allreduce(new Int32Array(2), 'sum'); } catch (e) { bad = e.code; }
        console.log(JSON.stringify({ keys: Object.keys(m).sort(), backend: m.backend, i, a: [...a], b: [...b], c: [...c], bad }));
        m.finalize();
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } });
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(o.keys).toEqual(['abort', 'allreduce', 'backend', 'barrier', 'broadcast', 'finalize', 'init']);
    expect(o.backend).toBe('mpi');
    expect(o.i).toMatchObject({ rank: 0, size: 1, localRank: 0, localSize: 1 });
    expect(o.i.library).toMatch(/MPI/);
    expect(o).toMatchObject({ a: [1, -2, 3], b: [4, 5], c: [7, 8], bad: 'InvalidArgument' });
  });
});

test.runIf(process.env.GLAM_EXPECT_NCCL_BUILD === '1')('CI built glam_nccl.node and it loads without a GPU (run with GLAM_EXPECT_NCCL_BUILD=1)', () => {
  const r = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(paths.nccl)}); console.log(m.backend, typeof m.ncclInit)`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout.trim()).toBe('mpi+nccl function');
});

describe('flat gradients (Policy.gradients / setGradients)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'glam-grads-'));
    initModel(join(dir, 'llama'), { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 4 });
    initModel(join(dir, 't5'), { arch: 't5', layers: 1, hidden: 32, heads: 2, seed: 4 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['llama', 't5'] as const)("%s: hold every trainable tensor's gradient in the step's order, and writing them back is what step uses", async (arch) => {
    const p = await Policy.load(join(dir, arch), { threads: 1, device: 'cpu', valueHidden: [8] });
    try {
      p.enableTraining({ mode: 'full', freezeEmbeddings: true });
      await expect(p.gradients(new Float32Array(3))).rejects.toMatchObject({ code: 'InvalidArgument' });
      const f = await p.forward({ prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] }, { grad: true });
      await p.backward(f.handle, [1, -1], [0.5]);
      const g = await p.gradients();
      expect(g.length).toBe(p.trainingInfo().trainableParams);
      // the same values as the named export, concatenated (model tensors, then the value head)
      const named = [...Object.values(p.exportTensors('grads', 'model')), ...Object.values(p.exportTensors('grads', 'value_head'))]
        .map((t) => (t as { data: Float32Array }).data).filter((d) => d.length > 0);
      const sumSq = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x * x, 0);
      expect(sumSq(g)).toBeCloseTo(named.reduce((s, d) => s + sumSq(d), 0), 6);
      // doubling the buffer doubles the norm the step reports
      const norm = Math.sqrt(sumSq(g));
      await p.setGradients(g.map((x) => 2 * x));
      expect(await p.step({ lr: 0 })).toBeCloseTo(2 * norm, 4);
      expect(Array.from(await p.gradients()).every((x, i) => x === 2 * g[i]!)).toBe(true);
      await expect(p.setGradients(new Float32Array(g.length + 1))).rejects.toMatchObject({ code: 'InvalidArgument' });
    } finally {
      await p.dispose();
    }
  });

  it('bad input is a typed error: not a Float32Array, wrong length, training not enabled', async () => {
    const p = await Policy.load(join(dir, 'llama'), { threads: 1, device: 'cpu', valueHidden: [8] });
    try {
      expect(await errorCode(p.gradients())).toBe('InvalidArgument'); // before enableTraining
      expect(await errorCode(p.setGradients(new Float32Array(1)))).toBe('InvalidArgument');
      p.enableTraining({ mode: 'full' });
      const n = p.trainingInfo().trainableParams!;
      expect(await errorCode(p.gradients(new Float64Array(n) as unknown as Float32Array))).toBe('InvalidArgument');
      expect(await errorCode(p.setGradients(Array.from({ length: n }, () => 0) as unknown as Float32Array))).toBe('InvalidArgument');
      expect(await errorCode(p.gradients(new Float32Array(n - 1)))).toBe('InvalidArgument');
      expect(await errorCode(p.setGradients(new Float32Array(n + 1)))).toBe('InvalidArgument');
      const out = new Float32Array(n).fill(7);
      expect(await p.gradients(out)).toBe(out); // the caller's buffer, overwritten (no backward yet: zeros)
      expect(out.every((x) => x === 0)).toBe(true);
    } finally {
      await p.dispose();
    }
  });

  it('the native calls run on a worker: each returns a pending promise, and the addon re-checks its input', async () => {
    const { config, weights } = loadModelFiles(join(dir, 'llama'));
    const m = await cpuAddon().loadModel(config, Object.fromEntries(weights), { threads: 1 });
    // the code of a call's error, thrown (argument checks) or rejected (the worker's checks)
    const code = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
      return undefined;
    };
    try {
      expect(await code(() => m.gradients())).toBe('InvalidArgument'); // the worker's check, under the op lock
      m.setTraining({ mode: 'full' });
      expect(await code(() => m.gradients(new Int32Array(4) as unknown as Float32Array))).toBe('InvalidArgument');
      expect(await code(() => m.setGradients(undefined as unknown as Float32Array))).toBe('InvalidArgument');
      expect(await code(() => m.setGradients(new Float32Array(2)))).toBe('InvalidArgument');
      // A call that ran on the JS thread would have settled its promise before returning (then the race
      // takes its value, listed first); a worker's settles only on a later turn of the event loop.
      const pending = Symbol('pending');
      const read = m.gradients();
      expect(await Promise.race([read, Promise.resolve(pending)])).toBe(pending);
      const g = await read;
      expect(g.length).toBeGreaterThan(0);
      const write = m.setGradients(g.fill(0.5));
      expect(await Promise.race([write, Promise.resolve(pending)])).toBe(pending);
      await write;
      expect((await m.gradients()).every((x) => x === 0.5)).toBe(true);
    } finally {
      m.dispose();
    }
  });
});
