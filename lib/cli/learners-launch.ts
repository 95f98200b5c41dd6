// `glam train --learners N`'s process side: the launcher that starts the N learners under mpirun on
// this machine, and the signals of a learner that runs under an MPI launcher (mpirun, srun).
//
//   glam train --learners 2 ...   ->  mpirun -np 2 [--allow-run-as-root] --bind-to none \
//                                       node <this cli> train --learners 2 ... --threads <threads / 2>
//
// Subtle:
// - mpirun runs in its own process group, so a terminal's Ctrl-C reaches the launcher only. The
//   launcher's first SIGINT / SIGTERM sends mpirun SIGUSR2, which mpirun forwards to every learner: the
//   learners agree to stop at the same point, rank 0 saves one checkpoint, all exit 0. A second signal
//   sends mpirun SIGTERM (it ends every learner at once) and exits 130 / 143.
// - In a learner, SIGUSR2 and SIGINT stop with a checkpoint like Ctrl-C does; SIGTERM is the MPI launcher
//   ending the job (mpirun does so within a second when a learner dies, SIGCONT then SIGTERM then
//   SIGKILL): the learner exits at once with LearnerLost (nothing collective can run any more).
// - mpirun's own report of a dead learner ("process rank R ... exited on signal S") becomes the
//   launcher's LearnerLost; MPI missing (no mpirun on the PATH, or glam_mpi.node not built) is
//   MpiUnavailable before anything starts.
// - Threads: --threads (default: every core) divided among the learners, at least one each.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';

import { GlamError } from '../errors.js';
import { MPI_INSTALL_HINT, collectiveAddonPaths } from '../native/collective.js';
import { mpiJobSize, mpiLearners, type Learners } from '../ppo/learners.js';
import { intFlag, runCommand, type CliIO } from './io.js';

/** The first executable `name` on `path`, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const d of path.split(delimiter)) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** `args` without --threads (either form) and with `--threads perRank`. */
export function learnerArgs(args: readonly string[], perRank: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') { i++; continue; }
    if (args[i]!.startsWith('--threads=')) continue;
    out.push(args[i]!);
  }
  return [...out, '--threads', String(perRank)];
}

/** The mpirun command line that starts `n` learners of `cli train ...` on this machine. */
export function mpirunCommand(o: { mpirun: string; n: number; cli: string; args: readonly string[]; threads: number; root: boolean; cores: number }): string[] {
  const per = Math.max(1, Math.floor(o.threads / o.n));
  return [o.mpirun, '-np', String(o.n), ...(o.root ? ['--allow-run-as-root'] : []), '--bind-to', 'none', ...(o.n > o.cores ? ['--oversubscribe'] : []),
    process.execPath, ...process.execArgv, o.cli, ...learnerArgs(o.args, per)];
}

/** mpirun's report of a learner that died, as one sentence (or null). */
export function deadLearner(mpirunStderr: string): string | null {
  const m = /process rank (\d+) with PID \d+ on node (\S+) exited on signal (\d+)(?: \(([^)]+)\))?/.exec(mpirunStderr);
  if (m) return `learner ${m[1]} (on ${m[2]}) died on signal ${m[3]}${m[4] ? ` (${m[4]})` : ''}`;
  const e = /process rank (\d+) with PID \d+ on\s+node (\S+) exited (?:improperly|with status|on)[^\n]*/.exec(mpirunStderr);
  return e ? `learner ${e[1]} (on ${e[2]}) ${e[0].replace(/^.*? exited/, 'exited')}` : null;
}

/**
 * Starts `n` learners running `glam train <args>` under mpirun and waits for them; resolves with
 * the exit code. MpiUnavailable when MPI is missing; LearnerLost when a learner died.
 */
export async function launchLearners(o: { n: number; args: readonly string[]; threads?: number; io: CliIO; cli?: string }): Promise<number> {
  const mpirun = findOnPath('mpirun');
  if (!mpirun) throw new GlamError('MpiUnavailable', `--learners ${o.n} starts its learners with mpirun, which is not on the PATH: ${MPI_INSTALL_HINT}`);
  const addon = collectiveAddonPaths().mpi;
  if (!existsSync(addon)) throw new GlamError('MpiUnavailable', `--learners ${o.n} needs the MPI addon ${addon}, which is not built: ${MPI_INSTALL_HINT}`);
  const cores = availableParallelism();
  const cmd = mpirunCommand({ mpirun, n: o.n, cli: o.cli ?? process.argv[1]!, args: o.args, threads: o.threads ?? cores, root: process.getuid?.() === 0, cores });
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'inherit', 'pipe'], detached: true });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-65536);
    o.io.err(d.toString());
  });
  let signals = 0;
  const onSignal = (s: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      o.io.err(`\nglam train: ${s}: stopping all ${o.n} learners at their next common point; rank 0 saves a checkpoint; a second signal ends them at once\n`);
      child.kill('SIGUSR2');
    } else {
      child.kill('SIGTERM');
      process.exit(s === 'SIGTERM' ? 143 : 130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', (e) => reject(new GlamError('MpiUnavailable', `mpirun could not start (${e.message}): ${MPI_INSTALL_HINT}`)));
      child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    });
    if (code === 0) return 0;
    const dead = deadLearner(err);
    if (dead) throw new GlamError('LearnerLost', `${dead}; mpirun stopped the other learners. The run directory stays at its last checkpoint: continue with --resume RUN_DIR --learners ${o.n}`);
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * A learner's signals (see the file comment): SIGUSR2 / SIGINT abort the returned signal (stop with a
 * checkpoint); SIGTERM prints LearnerLost and exits 1 at once.
 */
export function learnerSignals(io: CliIO, exit: (code: number) => void): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  const term = () => {
    io.err('glam train: LearnerLost: the MPI launcher is ending this job (SIGTERM): another learner died, or mpirun / srun was ' +
      'interrupted. The run directory stays at its last checkpoint: continue with --resume RUN_DIR and the same --learners ' +
      '(to stop with a checkpoint instead, send SIGUSR2 to mpirun: it forwards it to every learner)\n');
    exit(1);
  };
  process.on('SIGUSR2', stop);
  process.on('SIGINT', stop);
  process.on('SIGTERM', term);
  return { signal: ac.signal, dispose: () => { process.off('SIGUSR2', stop); process.off('SIGINT', stop); process.off('SIGTERM', term); } };
}

/**
 * --learners as a number (default 1). Under an MPI launcher of N > 1 processes it must be given: without
 * it each process would train alone into the same run directory.
 */
export function learnersFlag(v: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  const n = intFlag('learners', v) ?? 1;
  const job = mpiJobSize(env);
  if (n === 1 && job !== undefined && job > 1) {
    throw new GlamError('InvalidArgument', `this process is one of ${job} started by an MPI launcher: pass --learners ${job} (without it, each would train alone into the same run)`);
  }
  return n;
}

/**
 * One learner of an MPI job: joins it (mpiLearners), runs `train` with only rank 0 printing, exits
 * without MPI_Finalize on failure (mpirun then ends the others); returns the exit code.
 */
export async function runLearner(n: number, io: CliIO, gpu: boolean,
  train: (io: CliIO, o: { signal: AbortSignal; learners: Learners }) => Promise<unknown>): Promise<number> {
  const sig = learnerSignals(io, (code) => process.exit(code));
  try {
    const code = await runCommand(io, async () => {
      const learners = mpiLearners({ expected: n, gpu });
      await train(learners.isRoot ? io : { out: () => {}, err: io.err }, { signal: sig.signal, learners });
      learners.close();
    });
    if (code !== 0) process.exit(code);
    return code;
  } finally {
    sig.dispose();
  }
}
