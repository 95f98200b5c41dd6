// The field checks of PPO configs (resolvePpoConfig, presetFor): each bad value is an InvalidArgument
// GlamError "Expected X for FIELD but received V of type T".
// Subtle: describe() renders the received value so a config file's mistake is recognisable: strings
// quoted, arrays listed, objects as JSON (or 'an object' when JSON cannot render them, e.g. a cycle).

import { GlamError } from '../errors.js';

export function describe(v: unknown): string {
  if (typeof v === 'string') return `${JSON.stringify(v)} of type string`;
  if (Array.isArray(v)) return `[${v.map(String).join(', ')}] of type array`;
  if (v !== null && typeof v === 'object') {
    try { return `${JSON.stringify(v)} of type object`; } catch { return 'an object'; }
  }
  return `${String(v)} of type ${v === null ? 'null' : typeof v}`;
}

export function invalid(field: string, expected: string, value: unknown): GlamError {
  return new GlamError('InvalidArgument', `Expected ${expected} for ${field} but received ${describe(value)}`);
}

export function posInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw invalid(field, 'a positive integer', v);
  return v;
}

export function inRange(field: string, v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw invalid(field, what, v);
  return v;
}

export function bool(field: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalid(field, 'a boolean', v);
  return v;
}
