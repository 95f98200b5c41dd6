// `glam train --learners N` (lib/cli/learners-launch.ts) with real processes (the CLI bundled:
// train-bundle.ts): the mpirun command line and mpirun's report of a dead learner; without MPI, the
// typed error that says what to install; with MPI (2 learners under mpirun), kill -9 of one learner
// makes the other exit with LearnerLost within 30 s, so does one that hangs (by the collective timeout),
// and Ctrl-C on the launcher saves one checkpoint,
// stops every learner and exits 0, the run resuming with the same --learners only.
// Subtle: the MPI part needs mpirun and glam_mpi.node (.ci/run installs Open MPI); without them it is
// skipped and its name says why. Learners are found as mpirun's child processes through /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deadLearner, findOnPath, learnerArgs, learnersFlag, mpirunCommand } from '../../lib/cli/learners-launch.js';
import { initModel } from '../../lib/model/init-model.js';
import { collectiveAddonPaths } from '../../lib/native/collective.js';
import { readJsonl } from '../../lib/ppo/jsonl-writer.js';
import { bundleCli } from './train-bundle.js';

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';

describe('the mpirun command line', () => {
  it('divides the threads among the learners and replaces --threads', () => {
    expect(learnerArgs(['train', '--threads', '8', '--learners', '2', '--threads=3'], 4)).toEqual(['train', '--learners', '2', '--threads', '4']);
    const c = mpirunCommand({ mpirun: '/usr/bin/mpirun', n: 2, cli: '/x/cli.js', args: ['train', '--learners', '2'], threads: 5, root: true, cores: 2 });
    expect(c.slice(0, 7)).toEqual(['/usr/bin/mpirun', '-np', '2', '--allow-run-as-root', '--bind-to', 'none', process.execPath]);
    expect(c.slice(-5)).toEqual(['/x/cli.js', 'train', '--learners', '2', '--threads', '2'].slice(-5));
    expect(mpirunCommand({ mpirun: 'mpirun', n: 4, cli: 'c', args: [], threads: 1, root: false, cores: 2 })).toContain('--oversubscribe');
  });

  it('--learners is required under an MPI launcher of several processes', () => {
    expect(learnersFlag(undefined, {})).toBe(1);
    expect(learnersFlag('2', { OMPI_COMM_WORLD_SIZE: '2' })).toBe(2);
    expect(() => learnersFlag(undefined, { OMPI_COMM_WORLD_SIZE: '4' })).toThrow(/one of 4 started by an MPI launcher: pass --learners 4/);
    expect(() => learnersFlag('0', {})).toThrow(/integer >= 1 for --learners/);
  });

  it("reads mpirun's report of a learner that died", () => {
    expect(deadLearner('----\nmpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).\n----'))
      .toBe('learner 1 (on vm) died on signal 9 (Killed)');
    expect(deadLearner('all fine')).toBeNull();
  });
});

interface Proc { child: ChildProcess; out: string; err: string; exit: Promise<number | null> }
let cli: string;
let root: string;
let model: string;

function start(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [cli, 'train', '--model', model, '--level', LEVEL, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLAM_DEVICE: 'cpu', ...env },
  });
  const p: Proc = { child, out: '', err: '', exit: Promise.resolve(null) };
  child.stdout!.on('data', (d: Buffer) => void (p.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => void (p.err += d.toString()));
  p.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await sleep(50);
  }
}

/** Child process ids of `pid` (from /proc/<p>/stat's ppid field). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}
/** True while `pid` runs (a zombie, exited but not yet reaped by its new parent, counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'glam-launch-'));
  model = join(root, 'model');
  initModel(model, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 5 });
  cli = await bundleCli();
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('--learners 2 without MPI (no mpirun on the PATH) is MpiUnavailable, saying what to install, exit 1', async () => {
  const empty = mkdtempSync(join(root, 'path-')); // node itself is started by its absolute path
  const p = start(['--learners', '2', '--run', join(root, 'nompi')], { PATH: empty });
  expect(await p.exit).toBe(1);
  expect(p.err).toMatch(/^glam: MpiUnavailable: --learners 2 starts its learners with mpirun, which is not on the PATH: install Open MPI \(Debian\/Ubuntu: apt-get install openmpi-bin libopenmpi-dev/m);
  expect(existsSync(join(root, 'nompi'))).toBe(false);
});

const mpirun = findOnPath('mpirun');
const why = !mpirun ? ' (skipped: no mpirun on the PATH; apt-get install openmpi-bin libopenmpi-dev)'
  : !existsSync(collectiveAddonPaths().mpi) ? ' (skipped: glam_mpi.node is not built)' : '';
const LONG = ['--envs', '2', '--steps', '4', '--minibatch', '4', '--epochs', '1', '--frames', '80000', '--threads', '2'];

if (why !== '' && process.env.GLAM_EXPECT_MPI === '1') {
  it('MPI is expected here (GLAM_EXPECT_MPI=1, as in CI)', () => expect.fail(`the multi-learner tests cannot run${why}`));
}

describe.skipIf(why !== '')(`2 learners under mpirun${why}`, () => {
  it('kill -9 of one learner: the other exits with LearnerLost within 30 s, and so does glam train', async () => {
    const p = start(['--learners', '2', '--run', join(root, 'kill'), '--checkpoint-every', '1000', ...LONG]);
    await until(() => /update 1\//.test(p.err), 60_000);
    const mpirunPid = childrenOf(p.child.pid!)[0]!;
    const learners = childrenOf(mpirunPid);
    expect(learners).toHaveLength(2);
    const t0 = Date.now();
    process.kill(learners[1]!, 'SIGKILL');
    const code = await p.exit;
    const took = (Date.now() - t0) / 1000;
    console.log(`kill -9 of one learner: glam train exited ${code} after ${took.toFixed(1)} s; ${p.err.match(/LearnerLost[^\n]*/g)?.length ?? 0} LearnerLost lines`);
    expect(code).toBe(1);
    expect(took).toBeLessThan(30);
    expect(p.err).toMatch(/glam train: LearnerLost: the MPI launcher is ending this job/); // the surviving learner
    expect(p.err).toMatch(/glam: LearnerLost: learner \d \(on \S+\) died on signal 9 \(Killed\); mpirun stopped the other learners/);
    expect(alive(learners[0]!)).toBe(false);
  }, 120_000);

  it('a learner that hangs (SIGSTOP: alive, so mpirun sees nothing) ends the job by the collective timeout with LearnerLost', async () => {
    const p = start(['--learners', '2', '--run', join(root, 'hang'), '--checkpoint-every', '1000', ...LONG], { GLAM_LEARNER_TIMEOUT_S: '5' });
    await until(() => /update 1\//.test(p.err), 60_000);
    const learners = childrenOf(childrenOf(p.child.pid!)[0]!);
    const t0 = Date.now();
    process.kill(learners[1]!, 'SIGSTOP');
    const code = await p.exit;
    const took = (Date.now() - t0) / 1000;
    console.log(`SIGSTOP of one learner with GLAM_LEARNER_TIMEOUT_S=5: glam train exited ${code} after ${took.toFixed(1)} s`);
    expect(code).not.toBe(0);
    expect(took).toBeLessThan(30);
    expect(p.err).toMatch(/glam train: LearnerLost: learner \d\/2: .* waited 5 s for the other learners/);
    await until(() => learners.every((l) => !alive(l)), 10_000);
  }, 120_000);

  it('Ctrl-C on glam train saves one checkpoint and stops both learners (exit 0); --resume needs the same --learners', async () => {
    const dir = join(root, 'stop');
    const p = start(['--learners', '2', '--run', dir, '--checkpoint-every', '1000', ...LONG]);
    await until(() => /update 2\//.test(p.err), 60_000);
    const learners = childrenOf(childrenOf(p.child.pid!)[0]!);
    p.child.kill('SIGINT');
    expect(await p.exit).toBe(0);
    expect(p.out).toMatch(/glam train: stopped at update (\d+)\/10000 .*checkpoint .*update-\d+; continue with: glam train --resume/);
    const stoppedAt = Number(/stopped at update (\d+)/.exec(p.out)![1]);
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([`update-${stoppedAt}`]);
    expect(learners.filter(alive)).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).learners).toBe(2);

    const wrong = spawn(process.execPath, [cli, 'train', '--resume', dir, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLAM_DEVICE: 'cpu' } });
    let werr = '';
    wrong.stderr!.on('data', (d: Buffer) => void (werr += d.toString()));
    expect(await new Promise((r) => wrong.on('exit', r))).toBe(2);
    expect(werr).toMatch(/InvalidArgument: .* was trained with 2 learners; resume it with --learners 2/);

    const frames = String((stoppedAt + 2) * 8);
    const r = spawn(process.execPath, [cli, 'train', '--resume', dir, '--learners', '2', '--frames', frames, '--threads', '2'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GLAM_DEVICE: 'cpu' } });
    let rout = '';
    r.stdout!.on('data', (d: Buffer) => void (rout += d.toString()));
    expect(await new Promise((res) => r.on('exit', res))).toBe(0);
    expect(rout).toMatch(new RegExp(`done, ${stoppedAt + 2} updates`));
    const updates = readJsonl(join(dir, 'metrics.jsonl')).map((x) => (x as { update: number }).update);
    expect(updates).toEqual(Array.from({ length: stoppedAt + 2 }, (_, i) => i + 1));
  }, 180_000);
});
