// Policy.load's device and precision options: validation (one message format) and defaults.
// Subtle: the default device is 'auto' unless $GLAM_DEVICE names one (the test suite pins 'cpu' so
// its tolerances hold on GPU machines too); precision applies to the CUDA backend only — the CPU
// engine always computes in fp32, so a CPU policy reports precision 'fp32'; 'bf16' with device 'cpu'
// is an error rather than a silent fp32 (arguments.ts checkPrecisionOn; with 'auto', bf16 applies when
// a GPU is there).
import { invalid } from './arguments.js';
import type { Device, Precision } from '../native/binding.js';

const DEVICES: readonly Device[] = ['auto', 'cpu', 'cuda'];
const PRECISIONS: readonly Precision[] = ['bf16', 'fp32'];

/** The device to use: the option, else $GLAM_DEVICE, else 'auto'. */
export function resolveDevice(device: unknown, env: NodeJS.ProcessEnv = process.env): Device {
  const v = device ?? (env.GLAM_DEVICE || undefined) ?? 'auto';
  if (!DEVICES.includes(v as Device)) {
    throw invalid(device === undefined ? 'GLAM_DEVICE' : 'device', "'auto', 'cpu' or 'cuda'", v);
  }
  return v as Device;
}

/** The CUDA precision: the option, else 'bf16'. */
export function resolvePrecision(precision: unknown): Precision {
  const v = precision ?? 'bf16';
  if (!PRECISIONS.includes(v as Precision)) throw invalid('precision', "'bf16' or 'fp32'", v);
  return v as Precision;
}
