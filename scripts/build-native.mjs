#!/usr/bin/env node
// Builds the native addon(s) with cmake-js during `npm ci` / `npm install`.
// Subtle: the build is incremental (cmake decides what changed), so re-running it after a pull
// rebuilds exactly what moved and never leaves a stale addon; the CPU addon (build/Release/glam_cpu.node) must build, or the install fails loudly;
// the CUDA addon (build-cuda/Release/glam_cuda.node) is optional and never fails the install: it is
// built only when a CUDA toolkit is found (nvcc on PATH, $CUDA_HOME, $CUDA_PATH, /usr/local/cuda,
// or the wheel toolkit of scripts/cuda-toolkit-from-wheels.sh in .cuda-toolkit/), with one line
// when there is none and one line (and the log's path) when its build fails. GLAM_CUDA=0 skips it.
// Beside each addon it builds its test addon (glam_cpu_test.node, glam_cuda_test.node: the per-kernel
// hooks, the OpenBLAS comparison, the plan hooks that tests and benchmarks load through
// lib/native/test-hooks.ts) in a checkout, where test/ exists; an installed package (no test/)
// builds the production addons only. GLAM_TEST_HOOKS=1 or 0 overrides.
// Headers come from the node-api-headers package, so nothing is downloaded beyond the npm registry.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const jobs = String(Math.max(1, Number(process.env.GLAM_BUILD_JOBS ?? 0) || 2));
const testHooks = process.env.GLAM_TEST_HOOKS ? process.env.GLAM_TEST_HOOKS !== '0' : existsSync(join(root, 'test'));
const testHooksFlag = `--CDGLAM_TEST_HOOKS=${testHooks ? 'ON' : 'OFF'}`;
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root, '--out', 'build', '--config', 'Release', '--parallel', jobs,
  testHooksFlag], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) {
  console.error('glam: building the CPU addon failed. It needs g++ (C++17) and cmake >= 3.18 on the PATH.');
  process.exit(r.status ?? 1);
}

buildCuda();

/** The CUDA toolkit's nvcc, or null. */
function findNvcc() {
  const candidates = [];
  for (const v of ['CUDACXX']) if (process.env[v]) candidates.push(process.env[v]);
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(join(process.env[v], 'bin', 'nvcc'));
  for (const d of (process.env.PATH ?? '').split(':')) if (d) candidates.push(join(d, 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc', join(root, '.cuda-toolkit', 'site', 'nvidia', 'cu13', 'bin', 'nvcc'));
  return candidates.find((p) => existsSync(p)) ?? null;
}

function buildCuda() {
  if (process.env.GLAM_CUDA === '0') return;
  const nvcc = findNvcc();
  if (!nvcc) {
    console.log('glam: no CUDA toolkit found (nvcc); the CUDA addon is not built and glam runs on the CPU.');
    return;
  }
  mkdirSync(join(root, 'build-cuda'), { recursive: true });
  const log = join(root, 'build-cuda', 'glam-cuda-build.log');
  const fd = openSync(log, 'w');
  const t0 = Date.now();
  const c = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root, '--out', 'build-cuda', '--config', 'Release',
    '--parallel', jobs, '--CDGLAM_CUDA=ON', `--CDCMAKE_CUDA_COMPILER=${nvcc}`, testHooksFlag], {
    cwd: root,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, CUDACXX: nvcc, CUDA_HOME: process.env.CUDA_HOME ?? dirname(dirname(nvcc)) },
  });
  closeSync(fd);
  const s = ((Date.now() - t0) / 1000).toFixed(0);
  const built = testHooks ? 'build-cuda/Release/glam_cuda.node and glam_cuda_test.node' : 'build-cuda/Release/glam_cuda.node';
  if (c.status === 0) console.log(`glam: built the CUDA addon with ${nvcc} in ${s} s (${built}).`);
  else console.log(`glam: building the CUDA addon failed after ${s} s; glam runs on the CPU. Log: ${log}`);
}
