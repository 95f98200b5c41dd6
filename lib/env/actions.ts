// MiniGrid's action ids and GLAM's names for them.
// Subtle: the ids are MiniGrid's enum (left 0 … done 6) and are part of recorded fixtures. GLAM's
// agents only ever choose among the first six; GLAM maps any larger id of an augmented action space to
// `done` (a no-op that still costs a step), which `clampGlamAction` reproduces.

import { GlamError } from '../errors.js';

export const Action = {
  left: 0,
  right: 1,
  forward: 2,
  pickup: 3,
  drop: 4,
  toggle: 5,
  done: 6,
} as const;
export type ActionId = (typeof Action)[keyof typeof Action];
export type ActionName = keyof typeof Action;

export const NUM_ACTIONS = 7;

/** GLAM's action strings (config `["turn_left", ...]` with `_` → space); index = MiniGrid action id. */
export const GLAM_ACTION_NAMES: readonly string[] = ['turn left', 'turn right', 'go forward', 'pick up', 'drop', 'toggle'];

/** Throws unless `a` is one of MiniGrid's 7 action ids. */
export function checkAction(a: number): ActionId {
  if (!Number.isInteger(a) || a < 0 || a >= NUM_ACTIONS) {
    throw new GlamError('InvalidArgument', `Expected an action id 0..6 (left, right, forward, pickup, drop, toggle, done) but received ${String(a)}`);
  }
  return a as ActionId;
}

/** GLAM's `real_a[real_a > 6] = 6`: ids of an augmented action space beyond `done` become `done`. */
export function clampGlamAction(a: number): ActionId {
  if (!Number.isInteger(a) || a < 0) {
    throw new GlamError('InvalidArgument', `Expected a non-negative integer action but received ${String(a)}`);
  }
  return (a > 6 ? 6 : a) as ActionId;
}

/** Action id of a GLAM action string ("turn left" or "turn_left"). */
export function actionFromGlamName(name: string): ActionId {
  const i = GLAM_ACTION_NAMES.indexOf(name.replace(/_/g, ' ').trim());
  if (i < 0) {
    throw new GlamError('InvalidArgument', `Unknown action "${name}"; expected one of: ${GLAM_ACTION_NAMES.join(', ')}`);
  }
  return i as ActionId;
}
