// Learners: the data-parallel group a trainer belongs to, CleanRL's multi-GPU PPO recipe
// (ppo_atari_multigpu.py): one learner per process, each with its own envs (seeds offset by rank) and
// its share of every minibatch; after backward the whole gradient, ONE flat fp32 buffer, is
// all-reduced and averaged, then each learner clips and steps, so the replicas stay bit-identical.
//
//   const learners = await mpiLearners({ expected: 2 });       // under mpirun: rank, size, collectives
//   await trainPpo(policy, cfg, { learners });                   // SINGLE_LEARNER when omitted
//
// The trainers call only this interface: averageGradients between backward and step, agree() at each
// point where a stop may be honoured (so every learner stops at the same one), sum() for metrics, and
// share() for the run's descriptor that rank 0 hands the others.
// Subtle:
// - Every collective runs on a libuv worker and is raced against a timeout (GLAM_LEARNER_TIMEOUT_S,
//   default 600 s: longer than rank 0's slowest checkpoint write, which the others wait through). A
//   collective that does not finish in time is LearnerLost and ends the job (MPI_Abort): a dead peer
//   the transport cannot report (shared memory) never hangs a learner. Under mpirun a death is usually
//   seen sooner: mpirun sends the others SIGTERM, which lib/cli/learner-launch.ts turns into the same error.
// - Collectives must be called in the same order on every rank; the trainers' control flow depends only
//   on agreed values (stop flags, the averaged approx_kl), never on one rank's local ones.
import { GlamError } from '../errors.js';
import { collectiveAddon, type CollectiveAddon } from '../native/collective.js';
import type { Policy } from '../policy/policy.js';

export interface Learners {
  readonly rank: number;
  readonly size: number;
  /** Rank 0: it writes the run directory (metrics, TensorBoard, checkpoints). */
  readonly isRoot: boolean;
  /** Replaces the policy's accumulated gradients by their average over the learners. */
  averageGradients(policy: Policy): Promise<void>;
  /** True on every learner when `local` is true on any (a stop request). */
  agree(local: boolean): Promise<boolean>;
  /** Element-wise sums over the learners (in place; returned). */
  sum(values: Float64Array): Promise<Float64Array>;
  /** Rank 0's JSON value on every learner (the others pass undefined). */
  share<T>(value: T | undefined): Promise<T>;
  /** Seconds spent in gradient all-reduces, and bytes all-reduced per learner, since the last take. */
  takeStats(): { allreduceS: number; bytes: number };
  close(): void;
}

/** One process, no collectives: what trainers use when they are not given a group. */
export const SINGLE_LEARNER: Learners = Object.freeze({
  rank: 0,
  size: 1,
  isRoot: true,
  averageGradients: async () => {},
  agree: async (local: boolean) => local,
  sum: async (v: Float64Array) => v,
  share: async <T>(v: T | undefined) => v as T,
  takeStats: () => ({ allreduceS: 0, bytes: 0 }),
  close: () => {},
});

/** Each learner's share of the job's envs and minibatches; InvalidArgument unless they divide evenly. */
export function shardSizes(numEnvs: number, minibatchSize: number, size: number): { envs: number; minibatch: number } {
  if (numEnvs % size !== 0 || minibatchSize % size !== 0) {
    throw new GlamError('InvalidArgument',
      `${size} learners need the envs (${numEnvs}) and the minibatch (${minibatchSize}) to be multiples of ${size}: each learner runs ` +
      `envs / ${size} envs and takes minibatch / ${size} of every minibatch; change --envs / --minibatch or --learners`);
  }
  return { envs: numEnvs / size, minibatch: minibatchSize / size };
}

/** Env i of learner `rank` is the job's env rank·localEnvs + i, seeded as GLAM seeds it (100·seed + index). */
export function learnerEnvSeed(rank: number, localEnvs: number): (seed: number, i: number) => number {
  return (seed, i) => 100 * seed + rank * localEnvs + i;
}

/** Seconds a collective may wait for the others before it is LearnerLost (GLAM_LEARNER_TIMEOUT_S). */
export function learnerTimeoutS(env: Record<string, string | undefined> = process.env): number {
  const v = env.GLAM_LEARNER_TIMEOUT_S;
  if (v === undefined || v === '') return 600;
  const n = Number(v);
  if (!(n > 0)) throw new GlamError('InvalidArgument', `Expected a positive number of seconds for GLAM_LEARNER_TIMEOUT_S but received '${v}'`);
  return n;
}

/** Races a collective against the timeout; on expiry calls onLost with a LearnerLost error. */
export async function withTimeout<T>(p: Promise<T>, what: string, timeoutS: number, onLost: (e: GlamError) => never | void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const lost = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new GlamError('LearnerLost',
        `${what} waited ${timeoutS} s for the other learners: one of them died or hangs. The run directory stays at its last ` +
        'checkpoint: resume it with the same --learners (GLAM_LEARNER_TIMEOUT_S sets this timeout)');
      onLost(e);
      reject(e);
    }, timeoutS * 1000);
  });
  try {
    return await Promise.race([p, lost]);
  } finally {
    clearTimeout(timer);
  }
}

class MpiLearners implements Learners {
  readonly isRoot: boolean;
  #grad: Float32Array | undefined;
  #stats = { allreduceS: 0, bytes: 0 };

  constructor(readonly addon: CollectiveAddon, readonly rank: number, readonly size: number, readonly timeoutS: number,
    readonly onLost: (e: GlamError) => never | void) {
    this.isRoot = rank === 0;
  }

  #run<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(p, `learner ${this.rank}/${this.size}: ${what}`, this.timeoutS, this.onLost);
  }

  async averageGradients(policy: Policy): Promise<void> {
    const g = await policy.gradients(this.#grad);
    this.#grad = g;
    const t0 = performance.now();
    await this.#run(this.addon.allreduce(g, 'avg'), 'the gradient all-reduce');
    this.#stats.allreduceS += (performance.now() - t0) / 1000;
    this.#stats.bytes += g.byteLength;
    await policy.setGradients(g);
  }

  async agree(local: boolean): Promise<boolean> {
    const f = new Float64Array([local ? 1 : 0]);
    await this.#run(this.addon.allreduce(f, 'max'), 'agreeing on a stop');
    return f[0]! > 0;
  }

  async sum(values: Float64Array): Promise<Float64Array> {
    await this.#run(this.addon.allreduce(values, 'sum'), 'summing metrics');
    return values;
  }

  async share<T>(value: T | undefined): Promise<T> {
    const bytes = this.isRoot ? new TextEncoder().encode(JSON.stringify(value)) : new Uint8Array(0);
    const len = new Float64Array([bytes.length]);
    await this.#run(this.addon.broadcast(len, 0), 'receiving the run from rank 0');
    const buf = this.isRoot ? bytes : new Uint8Array(len[0]!);
    await this.#run(this.addon.broadcast(buf, 0), 'receiving the run from rank 0');
    return JSON.parse(new TextDecoder().decode(buf)) as T;
  }

  takeStats(): { allreduceS: number; bytes: number } {
    const s = this.#stats;
    this.#stats = { allreduceS: 0, bytes: 0 };
    return s;
  }

  close(): void {
    this.addon.finalize();
  }
}

/** True when this process was started by an MPI launcher (mpirun, srun --mpi=pmix). */
export function underMpi(env: Record<string, string | undefined> = process.env): boolean {
  return env.OMPI_COMM_WORLD_SIZE !== undefined || env.PMIX_RANK !== undefined || env.PMI_RANK !== undefined;
}

/** The MPI job's size as its launcher tells it in the environment (Open MPI, PMI, Slurm), or undefined. */
export function mpiJobSize(env: Record<string, string | undefined> = process.env): number | undefined {
  const v = env.OMPI_COMM_WORLD_SIZE ?? env.PMI_SIZE ?? (underMpi(env) ? env.SLURM_NTASKS : undefined);
  return v === undefined ? undefined : Number(v);
}

/**
 * Joins the MPI job this process belongs to (MpiUnavailable without the addon). `expected` is
 * --learners: a job of another size is InvalidArgument. On GPUs (`gpu`), float32 all-reduces go
 * through NCCL when glam_nccl.node is built, one GPU per local rank. A lost learner calls MPI_Abort
 * unless `onLost` is given (tests).
 */
export function mpiLearners(o: { expected: number; gpu?: boolean; onLost?: (e: GlamError) => never | void }): Learners & { localRank: number; library: string } {
  const addon = collectiveAddon(o.gpu === true);
  const init = addon.init();
  if (init.size !== o.expected) {
    throw new GlamError('InvalidArgument',
      `--learners ${o.expected} but this MPI job has ${init.size} processes: start it with mpirun -np ${o.expected} (or srun -n ${o.expected}), or pass --learners ${init.size}`);
  }
  let library = init.library;
  if (o.gpu) {
    // one GPU per learner on each machine: the local rank's (CUDA reads this at its first call, which is later)
    const visible = (process.env.CUDA_VISIBLE_DEVICES ?? '').split(',').filter((d) => d !== '');
    if (visible.length !== 1) process.env.CUDA_VISIBLE_DEVICES = visible.length > 0 ? visible[init.localRank % visible.length]! : String(init.localRank);
    if (addon.ncclInit) library = addon.ncclInit(0).library;
  }
  const onLost = o.onLost ?? ((e: GlamError) => {
    process.stderr.write(`glam train: ${e.code}: ${e.message}\n`);
    addon.abort(1);
  });
  const l = new MpiLearners(addon, init.rank, init.size, learnerTimeoutS(), onLost);
  return Object.assign(l, { localRank: init.localRank, library });
}
