// The `glam` command line bundled into one JavaScript file (esbuild, vitest's own dependency), for tests
// that start many real child processes: `node <bundle> train ...` starts in a fraction of the time
// vite-node takes to transform the TypeScript on every start.
// Subtle: the bundle is written under node_modules/.cache/ inside the package, so packageRoot() (which
// walks up from import.meta.url) finds the package, its build/ and assets/ exactly as dist/ would;
// packages stay external and resolve from node_modules. Its entry is lib/cli/main.ts, which runs
// itself when it is the main module. Written under a temporary name and renamed: workers may race.
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

import { build } from 'esbuild';

const root = join(__dirname, '..', '..');
const built = new Map<string, Promise<string>>();

/** `entry` (a path under the package) bundled as node_modules/.cache/glam-test/<name>.mjs, once per process. */
export function bundleEntry(entry: string, name: string): Promise<string> {
  let b = built.get(name);
  if (!b) {
    b = (async () => {
      const dir = join(root, 'node_modules', '.cache', 'glam-test');
      mkdirSync(dir, { recursive: true });
      const out = join(dir, `${name}.mjs`);
      const tmp = `${out}.${process.pid}.tmp.mjs`;
      await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile: tmp, logLevel: 'error' });
      renameSync(tmp, out);
      return out;
    })();
    built.set(name, b);
  }
  return b;
}

export function bundleCli(): Promise<string> {
  return bundleEntry(join('lib', 'cli', 'main.ts'), 'glam-cli');
}
