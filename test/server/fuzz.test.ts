// Fuzz: 10,000 malformed requests against a server with every route on (key, training): random JSON,
// wrong types, huge and negative numbers, unicode, deep nesting, wrong content types, truncated and
// invalid-UTF-8 bodies, ids outside the vocabulary, unknown routes and methods, bad keys. Every
// answer must be a 4xx with a JSON error body (never a 5xx, never a dropped connection), and the
// server must answer a real request afterwards. Seeded (the mulberry32 below), so a failure replays.
import { mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test } from 'vitest';

import { Policy } from '../../lib/policy/policy.js';
import { post, serve, type Served } from './harness.js';

const N = 10_000;
const KEY = 'fuzz-key';
let policy: Policy;
let s: Served;
beforeAll(async () => {
  policy = await Policy.load(undefined, { threads: 1 });
  s = await serve(policy, { apiKey: KEY, allowTraining: true, trainRoot: mkdtempSync(join(tmpdir(), 'glam-fuzz-')), maxBodyBytes: 200_000 });
});
afterAll(async () => {
  await s?.server.close();
  await policy?.dispose();
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Req { method: string; path: string; body?: Buffer | string; type?: string; auth?: string }

function generator(seed: number, V: number, maxPos: number) {
  const rnd = mulberry32(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const unicode = () => Array.from({ length: 1 + int(12) }, () => String.fromCodePoint(pick([0x0, 0x7f, 0xe9, 0x4e2d, 0x1f600, 0xfeff, 0x202e, 0x10ffff, 0xd7ff]))).join('');
  const deep = (d: number): unknown => { let v: unknown = 1; for (let i = 0; i < d; ++i) v = rnd() < 0.5 ? [v] : { a: v }; return v; };
  // values of the wrong type wherever they go: no string, no array of strings, no array of ids
  const junk = (): unknown => pick([
    () => null, () => true, () => -1, () => 1e308, () => -1e308, () => 2 ** 53 + 1, () => 0.5, () => ({}),
    () => [[1.5]], () => [null], () => ({ [unicode()]: unicode() }), () => deep(1 + int(3000)), () => [{ a: 'x'.repeat(int(5000)) }],
  ])();
  const valid = {
    '/v1/score': () => ({ prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] }),
    '/v1/completions': () => ({ prompt: 'go to the red ball', echo: true, logprobs: 1, max_tokens: 0 }),
    '/tokenize': () => ({ prompt: 'go' }),
    '/detokenize': () => ({ tokens: [1, 2] }),
    '/v1/train/forward': () => ({ prompts: ['a'], candidates: [['b']] }),
    '/v1/train/backward': () => ({ handle: 'h-x', d_logprobs: [0], d_values: [0] }),
    '/v1/train/step': () => ({ lr: 1e-9 }),
    '/v1/train/save': () => ({ dir: 'ckpt' }),
  } as Record<string, () => Record<string, unknown>>;
  // For each route, mutations that make a valid body invalid (each must be rejected).
  const mutations: Record<string, ((b: Record<string, unknown>) => void)[]> = {
    '/v1/score': [
      (b) => { b.prompts = pick([junk(), 5, 'str', unicode(), [5], [[unicode()]], []]); },
      (b) => { delete b.prompts; },
      (b) => { b.candidates = pick([[['x'], ['y']], [[]], [['']], 'x', [[5]], [junk()], [unicode()]]); },
      (b) => { b.prompts = ['']; },
      (b) => { b.options = { mode: unicode() }; },
      (b) => { b.options = { tokenization: pick([1, null, 'both']) }; },
      (b) => { b[unicode() || 'x'] = junk(); },
      (b) => { b.prompts = ['go '.repeat(1200 + int(3000))]; },
    ],
    '/v1/completions': [
      (b) => { b.prompt = pick([junk(), [], [[]], ['a', [1]], [1, 'a'], { p: 1 }, [true]]); },
      (b) => { b.max_tokens = pick([2, 16, 1e20, -1, 0.5, 'zero']); },
      (b) => { delete b.max_tokens; },
      (b) => { b.logprobs = pick([21, 1e308, -1, 2.5, '1']); },
      (b) => { b.prompt = [int(V), V + int(1e6), -1 - int(100)]; b.max_tokens = 0; },
      (b) => { b.prompt = [[1, 2], [V * 2]]; b.max_tokens = 0; },
      (b) => { b.prompt = Array.from({ length: maxPos + 1 + int(100) }, () => int(V)); b.max_tokens = 0; b.logprobs = 0; },
      (b) => { b.echo = pick([unicode(), 1, []]); },
      (b) => { b.n = pick([2, 0, -3]); },
      (b) => { b.stream = true; },
      (b) => { b.prompt = ''; },
    ],
    '/tokenize': [(b) => { b.prompt = pick([junk(), 1, null, [unicode()], []]); }, (b) => { delete b.prompt; }, (b) => { b.add_special_tokens = unicode(); }],
    '/detokenize': [(b) => { b.tokens = pick([[V + int(9999)], [-1], [0.5], 'abc', [unicode()], null]); }, (b) => { delete b.tokens; }],
    '/v1/train/forward': [(b) => { b.prompts = pick([junk(), [1], unicode()]); }, (b) => { b.candidates = [['']]; }, (b) => { b.extra = 1; }, (b) => { b.candidates = [['a'], ['b']]; }],
    '/v1/train/backward': [(b) => { b.handle = pick([unicode(), 'h-' + int(1e9), 5]); }, (b) => { b.d_logprobs = pick([junk(), ['a']]); }, (b) => { delete b.d_values; }],
    '/v1/train/step': [(b) => { b.lr = pick([-1, 'fast', null, -1e308]); }, (b) => { b.betas = pick([[1, 1], [0.9], 'x', [-0.1, 0.9]]); }, (b) => { b.eps = pick([0, -1]); }, (b) => { delete b.lr; }],
    '/v1/train/save': [
      (b) => { b.dir = pick(['../out', '/etc/x', '', 'a/../../b', '.', '..', unicode() + '/../../..', unicode(), 'x'.repeat(300 + int(5000)), 'a\\b', 'a//b', '~/x']); },
      (b) => { b.dir = junk(); },
    ],
  };
  const routes = Object.keys(valid);
  return (): Req => {
    const kind = rnd();
    const path = pick(routes);
    const auth = `Bearer ${KEY}`;
    if (kind < 0.55) { // a valid body broken by one mutation
      const b = valid[path]!();
      pick(mutations[path]!)(b);
      return { method: 'POST', path, body: JSON.stringify(b), auth };
    }
    if (kind < 0.65) return { method: 'POST', path, body: JSON.stringify(junk()), auth }; // random JSON as the whole body
    if (kind < 0.72) { // truncated JSON
      const t = JSON.stringify(valid[path]!());
      return { method: 'POST', path, body: t.slice(0, int(t.length - 1)), auth };
    }
    if (kind < 0.78) return { method: 'POST', path, body: JSON.stringify(valid[path]!()), type: pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', '']), auth };
    if (kind < 0.82) return { method: 'POST', path, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), auth }; // invalid UTF-8
    if (kind < 0.86) return { method: 'POST', path, body: '['.repeat(1 + int(100_000)) + ']'.repeat(int(3)), auth }; // deep and unbalanced
    if (kind < 0.90) return { method: pick(['GET', 'PUT', 'DELETE', 'PATCH']), path: pick([...routes.filter((r) => r !== '/tokenizer_info'), '/v1/nothing', '/' + encodeURIComponent(unicode()), '/v1/score/../../etc']), auth };
    return { method: 'POST', path, body: JSON.stringify(valid[path]!()), auth: pick(['', 'Bearer', `Bearer ${KEY}x`, `Basic ${KEY}`, 'Bearer ' + unicode().replace(/[^\x20-\x7e]/g, 'x'), KEY]) }; // bad keys
  };
}

function send(agent: Agent, base: URL, r: Req): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (r.auth) headers.authorization = r.auth;
    if (r.body !== undefined) {
      headers['content-type'] = r.type ?? 'application/json';
      if (headers['content-type'] === '') delete headers['content-type'];
      headers['content-length'] = Buffer.byteLength(r.body);
    }
    const req = request({ agent, host: base.hostname, port: base.port, method: r.method, path: r.path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

test(`${N} malformed requests: every answer a 4xx with a JSON error, none dropped, healthy after`, async () => {
  const next = generator(12345, policy.config.vocabSize, policy.config.maxPositions);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const base = new URL(s.url);
  const counts = new Map<number, number>();
  const bad: string[] = [];
  let done = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (done < N) {
      ++done;
      const r = next();
      const a = await send(agent, base, r).catch((e: Error) => ({ status: -1, body: e.message }));
      counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
      let coded = false;
      try { coded = typeof JSON.parse(a.body).error.code === 'string'; } catch { /* not JSON */ }
      if (a.status < 400 || a.status > 499 || !coded) bad.push(`${a.status} ${r.method} ${r.path} [${r.type ?? 'json'}|${r.auth}] ${String(r.body).slice(0, 120)} -> ${a.body.slice(0, 200)}`);
    }
  }));
  agent.destroy();
  const summary = [...counts.entries()].sort((x, y) => x[0] - y[0]).map(([k, v]) => `${k} x ${v}`).join(', ');
  console.log(`fuzz: ${done} malformed requests: ${summary}`);
  if (bad.length) console.log(bad.filter((b, i) => bad.findIndex((c) => c.slice(0, 40) === b.slice(0, 40)) === i).slice(0, 30).join("\n"));
  expect(bad.slice(0, 5)).toEqual([]);
  expect(done).toBeGreaterThanOrEqual(N);
  expect((await fetch(`${s.url}/health`)).status).toBe(200);
  const ok = await post(`${s.url}/v1/score`, { prompts: ['go to the red ball'], candidates: [['turn left', 'go forward']] }, { authorization: `Bearer ${KEY}` });
  expect(ok.status).toBe(200);
});
