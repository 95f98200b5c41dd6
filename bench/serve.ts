// bench/serve: `glam serve` under load. GLAM-shaped requests (one prompt of ~150 tokens, 6 candidate
// actions) from C closed-loop clients (C = 1, 4, 16, 64) against (a) the server with dynamic batching,
// (b) the same server with coalescing off (--no-coalesce: one request per fused pass) and (c) the
// peer: Policy.score in-process on the same work (C prompts per call, back to back). Candidates/s,
// p50/p99 latency, ratios, non-2xx answers (429s counted apart). Then a soak at concurrency 32 with
// the server's RSS (its /metrics process_resident_memory_bytes) at the start and the end.
// The servers are child processes (the built command) and the clients run here, so HTTP, JSON and
// the load generator all cost CPU the in-process peer does not pay: that is what the ratio measures.
// The clients are bench/http-load.ts (raw keep-alive sockets, ~20x lighter than fetch), and every
// level also reports where the CPU went, per candidate: the in-process peer's process, the server
// process (and its main thread: HTTP, JSON, tokenization, batching; the rest is the engine) and the
// load generator itself. On a shared machine the CPU times are steadier than the rates.
// Usage: npm run build && node dist/bench/serve.js [--device cpu|cuda] [--threads N] [--duration 6]
//        [--levels 1,4,16,64] [--reps 3] [--soak-s 600] [--soak-concurrency 32] [--model DIR]
//        [--max-wait-ms 2] [--max-batch-tokens N (default: glam serve's for the device)]
// Each level's `--duration` seconds per contender are split in `--reps` slices, taken in turns.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { cudaAddon } from '../lib/native/binding.js';
import { Policy } from '../lib/policy/policy.js';
import { defaultMaxBatchTokens } from '../lib/server/context.js';
import { Connection, request } from './http-load.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const threads = Number(arg('threads', String(Math.min(availableParallelism(), 256))));
const duration = Number(arg('duration', '6'));
const reps = Number(arg('reps', '3'));
const levels = arg('levels', '1,4,16,64').split(',').map(Number);
const soakS = Number(arg('soak-s', '600'));
const soakC = Number(arg('soak-concurrency', '32'));
const model = process.argv.includes('--model') ? arg('model', '') : undefined;
const maxWaitMs = arg('max-wait-ms', '2');
const device = arg('device', 'cpu') as 'cpu' | 'cuda';
if (device !== 'cpu' && device !== 'cuda') throw new Error(`--device must be cpu or cuda, not '${device}'`);
if (device === 'cuda') { // without a GPU, say so at once (scripts/gpu-check.sh runs this everywhere) instead of failing in the server
  const { addon, reason } = cudaAddon();
  const dev = addon?.deviceCount();
  if (!addon || !dev || dev.count === 0) {
    console.log(`bench/serve --device cuda: skipped: ${addon ? `no CUDA device (${dev?.reason})` : reason}`);
    process.exit(0);
  }
}
const maxBatchTokens = Number(arg('max-batch-tokens', String(defaultMaxBatchTokens(device)))); // glam serve's default
const ACTIONS = ['turn left', 'turn right', 'go forward', 'pick up', 'drop', 'toggle'];
const COLORS = ['red', 'green', 'blue', 'purple', 'yellow', 'grey'];
const THINGS = ['ball', 'box', 'key', 'door'];

/** GLAM's prompt: the action list, the goal, 3 observations with their actions; ~150 tokens. */
function glamPrompt(i: number): string {
  const c = (k: number) => COLORS[(i + k) % COLORS.length]!, t = (k: number) => THINGS[(i * 7 + k) % THINGS.length]!;
  let p = `Possible action of the agent: ${ACTIONS.join(', ')}\nGoal of the agent: go to the ${c(0)} ${t(0)}\n`;
  for (let s = 0; s < 3; ++s) {
    p += `Observation ${s}: You see a wall ${1 + ((i + s) % 4)} steps forward, You see a ${c(s + 1)} ${t(s + 1)} ${1 + (s % 3)} step left, You see a ${c(s + 2)} key 2 steps right\nAction ${s}: ${s < 2 ? ACTIONS[(i + s) % 6] : ''}\n`;
  }
  return p.trimEnd() + ' ';
}
const PROMPTS = Array.from({ length: 64 }, (_, i) => glamPrompt(i));

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};

/** CPU seconds of a run: the process measured (in-process peer or server), its main thread, the load generator. */
interface Cpu { proc: number; main: number; gen: number }
interface Level { cands: number; p50: number; p99: number; ok: number; r429: number; other: number; lat: number[]; wall: number; cpu: Cpu }

const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100; } catch { return 100; }
})();
/** utime + stime of a process or thread from /proc (Linux), in seconds; NaN elsewhere. */
function procCpu(path: string): number {
  try {
    const f = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
const selfCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

/** A server's CPU so far: the whole process and its main thread (the event loop). */
function serverCpu(child: ChildProcess): { proc: number; main: number } {
  return { proc: procCpu(`/proc/${child.pid}/stat`), main: procCpu(`/proc/${child.pid}/task/${child.pid}/stat`) };
}

// Requests prebuilt once: the generator spends its CPU on sending and reading, not on JSON.
const bodies = new Map<string, Buffer[]>();
function requests(url: string): Buffer[] {
  if (!bodies.has(url)) bodies.set(url, PROMPTS.map((p) => request(url, '/v1/score', JSON.stringify({ prompts: [p], candidates: [ACTIONS] }))));
  return bodies.get(url)!;
}

async function load(server: { url: string; child: ChildProcess }, c: number, seconds: number): Promise<Level> {
  const lat: number[] = [];
  let ok = 0, r429 = 0, other = 0, n = 0;
  const reqs = requests(server.url);
  const conns = Array.from({ length: c }, () => new Connection(server.url));
  const s0 = serverCpu(server.child), g0 = selfCpu();
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(conns.map(async (conn, w) => {
    while (performance.now() < end) {
      const r = await conn.send(reqs[(n++ + w) % reqs.length]!).catch(() => null);
      if (r?.status === 200) { ok++; lat.push(r.ms); } else if (r?.status === 429) { r429++; await new Promise((x) => setTimeout(x, 10)); } else other++;
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const s1 = serverCpu(server.child), g1 = selfCpu();
  for (const conn of conns) conn.close();
  return { cands: (ok * ACTIONS.length) / wall, p50: pct(lat, 0.5), p99: pct(lat, 0.99), ok, r429, other, lat, wall, cpu: { proc: s1.proc - s0.proc, main: s1.main - s0.main, gen: g1 - g0 } };
}

/**
 * Policy.score in-process on the same work, C prompts at a time back to back, each C split in calls of
 * at most --max-batch-tokens tokens as the server's passes are (the engine's best pass size on the CPU).
 */
async function inProcess(policy: Policy, c: number, seconds: number): Promise<Level> {
  const sizes = new Map(PROMPTS.map((p) => [p, policy.tokenizer.encode(p, true).length + ACTIONS.reduce((t, a) => t + policy.tokenizer.encode(a, false).length, 0)]));
  const size = (p: string) => sizes.get(p)!;
  const lat: number[] = [];
  let calls = 0;
  const c0 = selfCpu(), m0 = procCpu(`/proc/${process.pid}/task/${process.pid}/stat`);
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const prompts = Array.from({ length: c }, (_, j) => PROMPTS[(calls * c + j) % PROMPTS.length]!);
    const s = performance.now();
    for (let i = 0; i < prompts.length;) {
      let n = 0, tokens = 0;
      while (i + n < prompts.length && (n === 0 || tokens + size(prompts[i + n]!) <= maxBatchTokens)) tokens += size(prompts[i + n++]!);
      const part = prompts.slice(i, i + n);
      await policy.score({ prompts: part, candidates: part.map(() => ACTIONS) });
      i += n;
    }
    lat.push(performance.now() - s);
    calls++;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = { proc: selfCpu() - c0, main: procCpu(`/proc/${process.pid}/task/${process.pid}/stat`) - m0, gen: 0 };
  return { cands: (calls * c * ACTIONS.length) / wall, p50: pct(lat, 0.5), p99: pct(lat, 0.99), ok: calls * c, r429: 0, other: 0, lat, wall, cpu };
}

/** Slices of one measurement summed: candidates over the total time, percentiles over all latencies. */
function merge(xs: Level[]): Level {
  const lat = xs.flatMap((x) => x.lat);
  const wall = xs.reduce((t, x) => t + x.wall, 0);
  const ok = xs.reduce((t, x) => t + x.ok, 0);
  const sum = (k: keyof Cpu) => xs.reduce((t, x) => t + x.cpu[k], 0);
  return {
    cands: xs.reduce((t, x) => t + x.cands * x.wall, 0) / wall, p50: pct(lat, 0.5), p99: pct(lat, 0.99), ok,
    r429: xs.reduce((t, x) => t + x.r429, 0), other: xs.reduce((t, x) => t + x.other, 0), lat, wall,
    cpu: { proc: sum('proc'), main: sum('main'), gen: sum('gen') },
  };
}

async function startServer(extra: string[]): Promise<{ url: string; child: ChildProcess }> {
  const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--device', device, '--threads', String(threads), '--log-level', 'warn', '--max-queue', '4096', '--max-wait-ms', maxWaitMs, '--max-batch-tokens', String(maxBatchTokens), ...(model ? ['--model', model] : []), ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GLAM_DEVICE: device } });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /glam serve: (http:\S+)[\s\S]*training .*\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`glam serve exited ${code}: ${out}`)));
  });
  await load({ url, child }, 4, 1); // warm-up
  return { url, child };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

async function rss(url: string): Promise<number> {
  const m = await (await fetch(`${url}/metrics`)).text();
  return Number(/process_resident_memory_bytes (\d+)/.exec(m)![1]);
}

const f1 = (x: number) => x.toFixed(1);
const ms = (sec: number, l: Level) => ((sec * 1000) / (l.ok * ACTIONS.length)).toFixed(3);
/** CPU per candidate of one contender: the process (its main thread), and the load generator's for a server. */
function cpuLine(l: Level, kind: 'in-process' | 'server'): string {
  return `${ms(l.cpu.proc, l)} (main thread ${ms(l.cpu.main, l)})${kind === 'server' ? ` + load generator ${ms(l.cpu.gen, l)}` : ''}`;
}
console.log(`bench/serve: ${model ?? 'built-in model'} on ${device}${device === 'cpu' ? ` (${threads} engine threads, ${availableParallelism()} cores)` : ''}, --max-batch-tokens ${maxBatchTokens}, --max-wait-ms ${maxWaitMs}, ${duration} s per level and contender in ${reps} interleaved slices (closed loop), GLAM-shaped requests: 1 prompt of ~150 tokens, 6 candidates`);
const res: Record<string, Level[]> = { inproc: [], on: [], off: [] };
// The three are measured in turns, `reps` slices each per level, so that the load of a shared machine
// falls on all of them alike.
const policy = await Policy.load(model, { ...(device === 'cpu' ? { threads } : {}), device });
if (policy.device !== device) throw new Error(`asked for --device ${device} but the policy runs on ${policy.device}`);
await inProcess(policy, 4, 1); // warm-up
const on = await startServer([]);
const off = await startServer(['--no-coalesce']);
for (const c of levels) {
  const slices: Record<string, Level[]> = { inproc: [], on: [], off: [] };
  for (let r = 0; r < reps; ++r) {
    slices.inproc!.push(await inProcess(policy, c, duration / reps));
    slices.on!.push(await load(on, c, duration / reps));
    slices.off!.push(await load(off, c, duration / reps));
  }
  for (const k of ['inproc', 'on', 'off']) res[k]!.push(merge(slices[k]!));
  const [a, b, o] = [res.inproc!.at(-1)!, res.on!.at(-1)!, res.off!.at(-1)!];
  console.log(`C=${c}: in-process ${f1(a.cands)} cand/s; server ${f1(b.cands)} cand/s (p50 ${f1(b.p50)} ms, p99 ${f1(b.p99)} ms, ${b.ok} ok, ${b.r429} x 429, ${b.other} other); one-at-a-time ${f1(o.cands)} cand/s (p50 ${f1(o.p50)}, p99 ${f1(o.p99)}, ${o.ok} ok, ${o.r429} x 429, ${o.other} other)`);
  console.log(`  CPU ms per candidate: in-process ${cpuLine(a, 'in-process')}; server ${cpuLine(b, 'server')}; one-at-a-time ${cpuLine(o, 'server')}`);
}
await policy.dispose();
console.log(`servers' exit codes on SIGTERM: ${await stop(on.child)}, ${await stop(off.child)}`);

console.log('\n| C | in-process cand/s | server cand/s | p50 ms | p99 ms | one-at-a-time cand/s | p50 ms | p99 ms | server / in-process | server / one-at-a-time | non-2xx (429) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
levels.forEach((c, i) => {
  const a = res.inproc![i]!, b = res.on![i]!, o = res.off![i]!;
  console.log(`| ${c} | ${f1(a.cands)} | ${f1(b.cands)} | ${f1(b.p50)} | ${f1(b.p99)} | ${f1(o.cands)} | ${f1(o.p50)} | ${f1(o.p99)} | ${(b.cands / a.cands).toFixed(2)} | ${(b.cands / o.cands).toFixed(2)}x | ${b.other + o.other} (${b.r429 + o.r429}) |`);
});
// Where the CPU goes, per candidate (Linux /proc; the in-process peer's main thread tokenizes, the
// server's also serves HTTP and JSON). CPU efficiency = in-process CPU / server CPU: the share of the
// in-process rate the server reaches when CPU is the limit and the load generator runs elsewhere.
console.log('\n| C | in-process CPU ms/cand (main thread) | server CPU ms/cand (main thread) | load generator CPU ms/cand | server CPU efficiency | with the load generator |');
console.log('|---|---|---|---|---|---|');
levels.forEach((c, i) => {
  const a = res.inproc![i]!, b = res.on![i]!;
  const pa = a.cpu.proc / (a.ok * ACTIONS.length), pb = b.cpu.proc / (b.ok * ACTIONS.length), g = b.cpu.gen / (b.ok * ACTIONS.length);
  console.log(`| ${c} | ${ms(a.cpu.proc, a)} (${ms(a.cpu.main, a)}) | ${ms(b.cpu.proc, b)} (${ms(b.cpu.main, b)}) | ${ms(b.cpu.gen, b)} | ${(pa / pb).toFixed(2)} | ${(pa / (pb + g)).toFixed(2)} |`);
});

if (soakS > 0) {
  const s = await startServer([]);
  const r0 = await rss(s.url);
  const samples: string[] = [];
  const every = Math.max(5, soakS / 10);
  const sampler = setInterval(() => void rss(s.url).then((r) => samples.push(`${f1((performance.now() - tSoak) / 1000)} s ${f1(r / 2 ** 20)} MiB`)), every * 1000);
  const tSoak = performance.now();
  const l = await load(s, soakC, soakS);
  clearInterval(sampler);
  const r1 = await rss(s.url);
  console.log(`  RSS during the soak: ${samples.join(', ')}`);
  console.log(`\nsoak: ${soakS} s at concurrency ${soakC}: ${f1(l.cands)} cand/s, p50 ${f1(l.p50)} ms, p99 ${f1(l.p99)} ms, ${l.ok} ok, ${l.r429} x 429, ${l.other} other; server RSS ${f1(r0 / 2 ** 20)} MiB at start, ${f1(r1 / 2 ** 20)} MiB at end`);
  console.log(`  exit on SIGTERM: ${await stop(s.child)}`);
}
