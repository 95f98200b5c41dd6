// packageRoot: the glam package's root directory, found by walking up from this file, so paths to
// build/ and assets/ resolve the same from lib/ (tests run TypeScript) and dist/lib/ (the build).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { GlamError } from '../errors.js';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'glam') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new GlamError('NativeAddonMissing', `cannot find the glam package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
