// Shared setup of the GPU tests: whether a usable GPU is here (the CUDA addon built, loaded and
// reporting at least one device) and, if not, the reason every GPU suite prints in its name; the
// kernel hooks of the CUDA test addon (lib/native/test-hooks.ts) for the kernel suites; the parity
// metric; seeded random inputs.
// Metric: elementwise relative error with a floor, |got - want| / max(|want|, 1e-2 * max|want|),
// so elements near zero are judged against the tensor's scale; any non-finite element is an
// infinite error (NaN never passes, and outputs are NaN-poisoned before each kernel run).
import { cudaAddon, type CudaAddon } from '../../lib/native/binding.js';
import { cudaTestHooks, type CudaOps } from '../../lib/native/test-hooks.js';
import { rng } from '../io/helpers.js';

const loaded = cudaAddon();
const devices = loaded.addon?.deviceCount();

export const gpu: { ok: boolean; reason: string; addon?: CudaAddon; name?: string } =
  loaded.addon && devices && devices.count > 0
    ? { ok: true, reason: '', addon: loaded.addon, name: devices.name }
    : { ok: false, reason: loaded.addon ? `no CUDA device (${devices?.reason ?? 'unknown'})` : loaded.reason };

const hooks = gpu.ok ? cudaTestHooks() : undefined;

/** The kernel hooks, where there is a GPU and the CUDA test addon loads; else why not. */
export const kernels: { ok: boolean; reason: string; ops?: CudaOps } =
  hooks?.hooks ? { ok: true, reason: '', ops: hooks.hooks.ops } : { ok: false, reason: hooks?.reason ?? gpu.reason };

/** A suite title that carries the skip reason when there is no GPU (or, with `need` kernels, no kernel hooks). */
export function suite(title: string, need: { ok: boolean; reason: string } = gpu): string {
  return need.ok ? `${title} on ${gpu.name ?? 'GPU'}` : `${title} — skipped: ${need.reason}`;
}

export const TOL = { fp32: 1e-4, bf16: 2e-2 } as const;

export function maxRelErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let scale = 0;
  for (let i = 0; i < want.length; ++i) scale = Math.max(scale, Math.abs(want[i]!));
  const floor = Math.max(scale * 1e-2, 1e-30);
  let worst = 0;
  for (let i = 0; i < got.length; ++i) {
    const g = got[i]!;
    if (!Number.isFinite(g)) return Infinity;
    worst = Math.max(worst, Math.abs(g - want[i]!) / Math.max(Math.abs(want[i]!), floor));
  }
  return worst;
}

/** Seeded uniform [-a, a) values (mulberry32, test/io/helpers.ts). */
export function rand(n: number, seed: number, a = 1): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => (next() * 2 - 1) * a);
}

export function randInt(n: number, seed: number, below: number): Int32Array {
  const u = rand(n, seed, 1);
  return Int32Array.from(u, (v) => Math.min(below - 1, Math.floor(((v + 1) / 2) * below)));
}

/** Rounds fp32 values to bf16 (nearest even), as the CUDA hooks do for bf16 inputs. */
export function bf16Round(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  const u = new Uint32Array(out.buffer);
  out.set(x);
  for (let i = 0; i < u.length; ++i) {
    const v = u[i]!;
    u[i] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) << 16;
  }
  return out;
}

/** max |a - b| (any non-finite element of a: Infinity; a length mismatch: Infinity). */
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; ++i) m = Math.max(m, Number.isFinite(a[i]!) ? Math.abs(a[i]! - b[i]!) : Infinity);
  return m;
}

/** max |a - b| / max(1, |b|): the bf16-vs-fp32 measure of whole passes. */
export function maxRel1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; ++i) m = Math.max(m, Number.isFinite(a[i]!) ? Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)) : Infinity);
  return m;
}
