// The command line's one exit-code scheme (lib/cli/io.ts EXIT): 0 success, 1 a runtime failure, 2 a
// usage or input error, whether commander or a command found it; --version and --help.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, test } from 'vitest';

import { EXIT, runCommand } from '../../lib/cli/io.js';
import { GlamError } from '../../lib/errors.js';
import { runCli } from './run-cli.js';

const version = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;

describe('exit codes', () => {
  test.each([
    ['an unknown option', ['score', '--prompt', 'x', '--actions', 'a', '--bogus'], /^error: unknown option '--bogus'/],
    ['an unknown command', ['scroe'], /^error: unknown command 'scroe'/],
    ['a missing required option', ['score', '--actions', 'a'], /^error: required option '--prompt <text>' not specified/],
    ['a missing option argument', ['eval', '--policy'], /^error: option '--policy <dir>' argument missing/],
    ['no command', [], /^Usage: glam/],
    ['a bad flag value (a GlamError)', ['eval', '--policy', 'random', '--level', 'Nowhere'], /^glam: InvalidArgument: /],
  ])('%s exits 2', async (_what, args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(message);
  });

  test('runCommand: input GlamErrors 2; I/O, CUDA, missing addon and internal errors 1; anything else 1 as an internal error', async () => {
    const io = { out: () => {}, err: (s: string) => void (lines.push(s)) };
    const lines: string[] = [];
    const code = (e: unknown) => runCommand(io, async () => {
      throw e;
    });
    for (const c of ['InvalidArgument', 'ConfigMissing', 'ConfigInvalid', 'UnsupportedArchitecture', 'EmptyCandidate', 'TokenizerMissing', 'DeviceUnavailable'] as const) {
      expect(await code(new GlamError(c, 'x')), c).toBe(2);
    }
    for (const c of ['IoError', 'CudaError', 'NativeAddonMissing', 'MpiUnavailable', 'LearnerLost', 'Internal'] as const) expect(await code(new GlamError(c, 'x')), c).toBe(1);
    lines.length = 0;
    expect(await code(new TypeError('boom'))).toBe(1);
    expect(lines).toEqual(['glam: internal error: boom\n']);
    expect(await runCommand(io, async () => {})).toBe(0);
  });
});

test('--version prints the package version; --help documents the exit codes', async () => {
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    expect(r).toEqual({ out: `${version}\n`, err: '', code: 0 });
  }
  const h = await runCli(['--help']);
  expect(h.code).toBe(0);
  expect(h.out).toContain('-V, --version');
  expect(h.out).toMatch(/\nExit codes: 0 success; 1 runtime failure \(I\/O, device or engine error, internal error\); 2 usage or input error \(bad flag, argument, file or model\)\.\n$/);
});
