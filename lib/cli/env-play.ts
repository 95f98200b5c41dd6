// `glam env play`: play a BabyAI-Text level from the keyboard in a terminal (raw-mode stdin), the grid
// drawn with ANSI colours and the text observation and mission under it.
// Keys: ↑/w forward, ←/a turn left, →/s turn right, p pick up, d drop, t toggle, r next episode,
// q or Ctrl-C quit. ("d" is drop, so the WASD block turns right with "s".)
// Subtle: raw mode is always undone (quit, end of input, error), else the user's shell is left without
// echo; without a TTY on stdin there are no keys to read, so the command refuses with exit code 2.

import { GlamError } from '../errors.js';
import { Action } from '../env/actions.js';
import { GLAM_ACTION_NAMES } from '../env/actions.js';
import type { RoomGridLevel } from '../env/levels/roomgrid-level.js';
import { drawScreen } from './env-draw.js';
import type { CliIO } from './io.js';

/** What play reads keys from (process.stdin, or a fake in tests). */
export interface KeyInput {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding?(enc: BufferEncoding): unknown;
  resume(): unknown;
  pause(): unknown;
  on(event: 'data', fn: (chunk: string | Buffer) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  off(event: 'data' | 'end', fn: (...args: never[]) => void): unknown;
}

const KEYS: Record<string, number> = {
  '\x1b[A': Action.forward, w: Action.forward,
  '\x1b[D': Action.left, a: Action.left,
  '\x1b[C': Action.right, s: Action.right,
  p: Action.pickup, d: Action.drop, t: Action.toggle,
};

export const PLAY_HELP = 'keys: ↑/w forward  ←/a turn left  →/s turn right  p pick up  d drop  t toggle  r next episode  q quit';

/** Runs the interactive loop until the user quits or input ends. */
export async function playLoop(env: RoomGridLevel, io: CliIO, input: KeyInput): Promise<void> {
  if (input.isTTY !== true || typeof input.setRawMode !== 'function') {
    throw new GlamError('InvalidArgument', 'glam env play needs an interactive terminal, but stdin is not a TTY; use `glam env replay --state FILE --actions ...` to run scripted actions');
  }
  let obs = env.reset();
  let status = 'new episode';
  const render = (): void => {
    io.out('\x1b[2J\x1b[H' + drawScreen(env, obs.descriptions, true) + `\n${status}\n${PLAY_HELP}\n`);
  };
  let ended = false;
  input.setRawMode(true);
  input.setEncoding?.('utf8');
  try {
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        input.off('data', onData);
        input.off('end', finish);
        resolve();
      };
      const onData = (chunk: string | Buffer): void => {
        const key = chunk.toString();
        if (key === 'q' || key === '\x03' || key === '\x04') {
          finish();
          return;
        }
        if (key === 'r') {
          obs = env.reset();
          ended = false;
          status = 'new episode';
        } else if (ended) {
          status = 'the episode is over: r for the next one, q to quit';
        } else if (Object.hasOwn(KEYS, key)) {
          const a = KEYS[key]!;
          const r = env.step(a);
          obs = r.obs;
          status = `${GLAM_ACTION_NAMES[a]} → reward ${r.reward.toFixed(3)}`;
          if (r.done) {
            ended = true;
            status += r.reward > 0 ? '   SUCCESS (r: next episode, q: quit)' : `   episode over: ${r.truncated ? 'out of steps' : 'failed'} (r: next episode, q: quit)`;
          }
        } else {
          status = `unknown key ${JSON.stringify(key)}`;
        }
        render();
      };
      input.on('data', onData);
      input.on('end', finish);
      input.resume();
      render();
    });
  } finally {
    input.setRawMode(false);
    input.pause();
  }
  io.out('bye\n');
}
