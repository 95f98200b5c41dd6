// glam as another project gets it, from outside the checkout: the README's ways to use the CLI
// elsewhere (`npm install -g`, `npx glam` in a project that depends on glam, the bin path), run from
// a temporary directory as real processes with their exit codes; and the type declarations compiled
// by a consumer project under `target: es2020` and `es2022`, with and without @types/node (no
// skipLibCheck: the .d.ts files themselves are checked).
// Subtle: these run the build in dist/, so dist/ is rebuilt first when any lib/ file is newer than
// its output (npm ci's prepare builds it; an edit since then would otherwise test stale code). npm
// installs the checkout as a link, offline and without scripts: nothing is downloaded or compiled.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = join(__dirname, '..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const fixture = join(root, 'test', 'fixtures', 'models', 'gpt2');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** lib/ files whose dist/ output is missing or older. */
function staleOutputs(dir = join(root, 'lib')): string[] {
  const stale: string[] = [];
  for (const name of readdirSync(dir)) {
    const src = join(dir, name);
    if (statSync(src).isDirectory()) {
      stale.push(...staleOutputs(src));
    } else if (name.endsWith('.ts')) {
      const out = join(root, 'dist', relative(root, src)).replace(/\.ts$/, '.d.ts');
      if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) stale.push(relative(root, src));
    }
  }
  return stale;
}

interface Ran { status: number | null; stdout: string; stderr: string }

/** Runs a real process (asynchronously: a blocked test worker misses vitest's heartbeats). */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function ok(p: Promise<Ran>): Promise<string> {
  const r = await p;
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

const work = mkdtempSync(join(tmpdir(), 'glam-package-'));
const prefix = join(work, 'prefix'); // npm install -g --prefix: bin/glam
const consumer = join(work, 'consumer'); // a project that depends on glam
const elsewhere = join(work, 'elsewhere'); // an unrelated working directory
const home = join(work, 'home'); // $GLAM_HOME: where the built-in model is made

beforeAll(async () => {
  if (staleOutputs().length > 0) await ok(run(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], root));
  mkdirSync(elsewhere);
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const flags = ['--offline', '--ignore-scripts', '--no-audit', '--no-fund'];
  await ok(run('npm', ['install', '-g', '--prefix', prefix, ...flags, root], elsewhere));
  await ok(run('npm', ['install', ...flags, root], consumer));
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the CLI outside the checkout', () => {
  test('npm install -g: `glam` runs from any directory; the built-in model and exact action texts', async () => {
    const glam = join(prefix, 'bin', 'glam');
    expect(await ok(run(glam, ['--version'], elsewhere))).toBe(`${version}\n`);
    const out = await ok(run(glam, ['score', '--prompt', 'Goal of the agent: go to the red ball', '--actions', ' go forward|turn left', '--json', '--threads', '1'], elsewhere, { GLAM_HOME: home }));
    const j = JSON.parse(out) as { actions: { text: string }[]; value: number | null; valueTrained: boolean };
    expect(j.actions.map((a) => a.text)).toEqual([' go forward', 'turn left']);
    expect(j).toMatchObject({ value: null, valueTrained: false });
    expect(existsSync(join(home, 'models'))).toBe(true); // made under $GLAM_HOME, not in the working directory
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  test('exit codes of a real process: 0 success, 2 usage and input errors', async () => {
    const glam = join(prefix, 'bin', 'glam');
    const unknown = await run(glam, ['score', '--prompt', 'x', '--actions', 'a', '--bogus'], elsewhere);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown option '--bogus'/);
    const command = await run(glam, ['scroe'], elsewhere);
    expect(command.status).toBe(2);
    expect(command.stderr).toMatch(/unknown command 'scroe'/);
    const input = await run(glam, ['score', '--model', join(elsewhere, 'none'), '--prompt', 'x', '--actions', 'a'], elsewhere);
    expect(input.status).toBe(2);
    expect(input.stderr).toMatch(/^glam: ConfigMissing: /);
    const help = await run(glam, ['--help'], elsewhere);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 success; 1 runtime failure');
  });

  test('`npx glam` in a project that depends on glam, and the bin path with node', async () => {
    expect(await ok(run('npx', ['--no-install', 'glam', '--version'], consumer))).toBe(`${version}\n`);
    const out = await ok(run(process.execPath, [join(root, 'dist', 'lib', 'cli', 'main.js'), 'score', '--model', fixture, '--prompt', 'hi', '--actions', 'a|b', '--json', '--threads', '1'], elsewhere));
    expect((JSON.parse(out) as { actions: unknown[] }).actions).toHaveLength(2);
  });
});

describe('type declarations compile for consumers', () => {
  const source = `import { Policy, GlamError, evaluate, type ScoreResult } from 'glam';
import { makeEnv } from 'glam/env';
import { computeGae } from 'glam/ppo';
export async function use(): Promise<number> {
  await using p = await Policy.load(undefined, { threads: 1 });
  const r: ScoreResult = await p.score({ prompts: ['hi'], candidates: [['a', 'b']] });
  const trained: boolean = p.valueHeadTrained;
  const used = [evaluate, makeEnv, computeGae, new GlamError('Internal', 'x').code];
  return r.probs.length + (trained ? 1 : 0) + used.length;
}
`;
  test.each([
    ['es2020', []], ['es2022', []], ['es2020', ['node']], ['es2022', ['node']],
  ] as [string, string[]][])('target %s, types %j', async (target, types) => {
    const dir = join(consumer, `tsc-${target}-${types.length}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'use.ts'), source);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target, module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types,
        ...(types.length > 0 ? { typeRoots: [join(root, 'node_modules', '@types')] } : {}),
      },
      files: ['use.ts'],
    }));
    const r = await run(process.execPath, [tsc, '-p', dir], consumer);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
