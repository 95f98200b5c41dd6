// Shared assertions on GlamError for the tests: the code a call fails with, and "fails with
// InvalidArgument and this message". Anything thrown that is not a GlamError is reported as such.
import { expect } from 'vitest';

import { GlamError } from '../lib/errors.js';

/** The GlamError code a call (or a promise) fails with; undefined when it succeeds. */
export async function errorCode(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e instanceof GlamError ? e.code : `not a GlamError: ${String(e)}`;
  }
  return undefined;
}

/** `fn` must throw a GlamError with code InvalidArgument whose message matches `message`. */
export function expectInvalid(fn: () => unknown, message: RegExp): void {
  try { fn(); } catch (err) {
    expect(err).toBeInstanceOf(GlamError);
    expect((err as GlamError).code).toBe('InvalidArgument');
    expect((err as GlamError).message).toMatch(message);
    return;
  }
  throw new Error('expected a GlamError');
}
