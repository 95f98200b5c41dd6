// `glam serve` as a process: it prints its URL and what it serves, answers, and on SIGINT finishes
// the request in flight and exits 0; bad flags exit 2 with one line.
// The child runs the TypeScript through vite-node, whose vite server exits on SIGTERM by itself, so
// SIGTERM is checked on the built command by the Python suite (clients/python/tests/conftest.py).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { expect, test } from 'vitest';

import { runCli } from './run-cli.js';

test('serve prints its URL, answers, drains on SIGINT and exits 0', async () => {
  const viteNode = join(__dirname, '..', '..', 'node_modules', 'vite-node', 'vite-node.mjs');
  const child = spawn(process.execPath, [viteNode, join(__dirname, 'train-child.ts'), '--', 'serve', '--port', '0', '--threads', '1', '--log-level', 'warn', '--api-key', 'sekret'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /glam serve: (http:\/\/127\.0\.0\.1:\d+)[\s\S]*training .*\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', () => reject(new Error(`serve exited early: ${out}${err}`)));
  });
  expect(out).toMatch(/value head UNTRAINED/);
  expect(out).toMatch(/API key required/);
  const headers = { 'content-type': 'application/json', authorization: 'Bearer sekret' };
  const prompt = 'Goal of the agent: go to the red ball\nObservation 0: a wall 3 steps left\n'.repeat(12);
  const first = await fetch(`${url}/v1/score`, { method: 'POST', headers, body: JSON.stringify({ prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] }) });
  expect(first.status).toBe(200);
  const inflight = fetch(`${url}/v1/score`, { method: 'POST', headers, body: JSON.stringify({ prompts: Array(64).fill(prompt), candidates: Array(64).fill(['turn left', 'go forward']) }) });
  await new Promise((r) => setTimeout(r, 300)); // the request has arrived (64 long prompts: several passes, about a second)
  child.kill('SIGINT');
  expect((await inflight).status).toBe(200);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  expect(code).toBe(0);
  expect(out).toMatch(/SIGINT: draining/);
  expect(out).toMatch(/stopped/);
});

test('bad serve flags exit 2 with one line naming the flag', async () => {
  for (const [args, msg] of [
    [['--max-queue', '0'], /--max-queue/],
    [['--port', 'x'], /--port/],
    [['--device', 'tpu'], /--device/],
    [['--allow-training', '--train-root', '/tmp'], /API key/],
  ] as [string[], RegExp][]) {
    const saved = process.env.GLAM_API_KEY;
    delete process.env.GLAM_API_KEY;
    const r = await runCli(['serve', ...args]);
    if (saved !== undefined) process.env.GLAM_API_KEY = saved;
    expect(r.code, args.join(' ')).toBe(2);
    expect(r.err).toMatch(msg);
  }
});
