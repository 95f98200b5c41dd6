#!/usr/bin/env node
// Builds the native addon(s) with cmake-js during `npm ci` / `npm install`.
// Subtle: the build is incremental (cmake decides what changed), so re-running it after a pull
// rebuilds exactly what moved and never leaves a stale addon; the CPU addon (build/Release/glam_cpu.node) must build, or the install fails loudly;
// the CUDA addon (a later backend) is optional and never fails the install. Headers come from the
// node-api-headers package, so nothing is downloaded beyond the npm registry.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const jobs = String(Math.max(1, Number(process.env.GLAM_BUILD_JOBS ?? 0) || 2));
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--directory', root, '--out', 'build', '--config', 'Release', '--parallel', jobs], {
  cwd: root,
  stdio: 'inherit',
});
if (r.status !== 0) {
  console.error('glam: building the CPU addon failed. It needs g++ (C++17) and cmake >= 3.18 on the PATH.');
  process.exit(r.status ?? 1);
}
