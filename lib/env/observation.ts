// What the env returns: the observation (MiniGrid's image/direction/mission plus GLAM's text) and the
// outcome of a step in Gymnasium's terms (terminated vs truncated) with GLAM's `done` alongside.
// Subtle: `image` is a fresh array per observation (safe to keep); use MiniGridEnv.writeView to fill
// a caller-owned buffer instead (vectorised envs).

export interface Observation {
  /** (7, 7, 3) uint8, cell (i, j) channel k at (i*7 + j)*3 + k; i column left→right, j row far→near; agent at (3, 6). */
  image: Uint8Array;
  /** Agent direction: 0 east (+x), 1 south (+y), 2 west, 3 north. */
  direction: number;
  mission: string;
  /** GLAM's text observation for this view (text/describe.ts). */
  descriptions: string[];
}

/** What one action did, without the observation (see `act`). */
export interface StepOutcome {
  reward: number;
  terminated: boolean;
  truncated: boolean;
  /** Instruction status after this step ('continue' for envs without instructions). */
  status: 'success' | 'failure' | 'continue';
}

export interface StepResult extends StepOutcome {
  obs: Observation;
  /** GLAM's `done`: terminated || truncated. */
  done: boolean;
}
