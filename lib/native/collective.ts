// The collective addon (native/collective): glam_mpi.node (MPI, built by `npm ci` when MPI is found)
// or, in a CUDA build with NCCL, build-cuda/Release/glam_nccl.node (the same surface plus ncclInit).
// Loaded only for multi-learner training (lib/ppo/learners.ts), through requireAddon like every addon.
// Subtle: a missing or unloadable addon is MpiUnavailable, whose message says what to install; the
// engine addons never need it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { GlamError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { requireAddon } from './binding.js';

export interface CollectiveInit {
  rank: number;
  size: number;
  /** Rank and ranks on this machine (one GPU per local rank). */
  localRank: number;
  localSize: number;
  /** The MPI library's name and version. */
  library: string;
}

export interface CollectiveAddon {
  backend: 'mpi' | 'mpi+nccl';
  init(): CollectiveInit;
  /** In place; 'avg' is the sum divided by the number of ranks. */
  allreduce(buf: Float32Array | Float64Array, op: 'sum' | 'max' | 'avg'): Promise<void>;
  broadcast(buf: Float32Array | Float64Array | Uint8Array | Int32Array, root: number): Promise<void>;
  barrier(): Promise<void>;
  /** Ends every rank of the job (MPI_Abort); never returns. */
  abort(code: number): never;
  finalize(): void;
  /** glam_nccl.node only: float32 all-reduces go through NCCL on this GPU. */
  ncclInit?(device: number): { library: string };
}

/** What to do when MPI is missing (every MpiUnavailable message ends with it). */
export const MPI_INSTALL_HINT =
  'install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; or any MPI with mpirun and mpicc) and rebuild the addons with `npm run build:native`';

/** Where the addons are built (scripts/build-native.mjs). */
export function collectiveAddonPaths(): { mpi: string; nccl: string } {
  const root = packageRoot();
  return { mpi: join(root, 'build', 'Release', 'glam_mpi.node'), nccl: join(root, 'build-cuda', 'Release', 'glam_nccl.node') };
}

let cached: CollectiveAddon | undefined;

/** The collective addon (NCCL's when `gpu` and it is built), or MpiUnavailable saying what to install. */
export function collectiveAddon(gpu = false): CollectiveAddon {
  if (cached) return cached;
  const p = collectiveAddonPaths();
  const { addon, errors } = requireAddon<CollectiveAddon>(gpu && existsSync(p.nccl) ? [p.nccl, p.mpi] : [p.mpi]);
  if (addon) return (cached = addon);
  throw new GlamError('MpiUnavailable', `multi-learner training needs the MPI addon, which is not available (${errors.join('; ')}): ${MPI_INSTALL_HINT}`);
}
