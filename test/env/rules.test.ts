// MiniGrid's step rules: turning, moving, pickup/drop/toggle, doors, keys, boxes, goal/lava,
// reward formula, truncation, bad actions.

import { describe, expect, it } from 'vitest';
import { Action, Ball, Box, Door, envFromState, Key, makeEnv } from '../../lib/env/index.js';
import { GlamError } from '../../lib/errors.js';
import { room8, stateFromMap } from './helpers.js';

/** Two 8×8 rooms side by side (15×8); `row1` overrides cells of row 1 (x → code). */
function twoRooms(row1: Record<number, string>, mission: string, carrying: [number, number, number] | null = null) {
  const rows: string[] = [];
  for (let y = 0; y < 8; y++) {
    let r = '';
    for (let x = 0; x < 15; x++) {
      const border = y === 0 || y === 7 || x === 0 || x === 14 || x === 7;
      r += y === 1 && row1[x] !== undefined ? row1[x] : border ? 'We' : '..';
    }
    rows.push(r);
  }
  return stateFromMap(rows, mission, { carrying, max_steps: 128 });
}

const EMPTY_ROWS = ['............', '............', '............', '............', '............'];
const AGENT_CELL = (3 * 7 + 6) * 3;
const NO_TARGET = 'go to the red ball'; // no red ball in these maps: the instruction never succeeds

describe('movement', () => {
  it('turns modulo 4 and moves forward onto empty cells only', () => {
    const env = envFromState(room8(['>>..........', ...EMPTY_ROWS], NO_TARGET));
    env.step(Action.left);
    expect(env.agentDir).toBe(3);
    env.step(Action.forward); // wall to the north
    expect(env.agentPos).toEqual([1, 1]);
    env.step(Action.right);
    env.step(Action.right);
    expect(env.agentDir).toBe(1);
    env.step(Action.forward);
    expect(env.agentPos).toEqual([1, 2]);
    for (let k = 0; k < 3; k++) env.step(Action.left);
    expect(env.agentDir).toBe(2);
  });

  it('is blocked by objects and closed or locked doors, passes open doors', () => {
    for (const [code, passes] of [['Dr', false], ['Lr', false], ['Or', true], ['Ab', false], ['Xb', false]] as const) {
      const env = envFromState(twoRooms({ 6: '>>', 7: code }, NO_TARGET));
      env.step(Action.forward);
      expect(env.agentPos, code).toEqual(passes ? [7, 1] : [6, 1]);
    }
  });

  it('ends the episode on a goal (with reward) and on lava (without)', () => {
    const g = envFromState(room8(['>>Gg........', ...EMPTY_ROWS], NO_TARGET));
    const rg = g.step(Action.forward);
    expect(rg.terminated).toBe(true);
    expect(rg.reward).toBeCloseTo(1 - 0.9 * (1 / 64), 12);
    expect(g.agentPos).toEqual([2, 1]);
    const l = envFromState(room8(['>>V.........', ...EMPTY_ROWS], NO_TARGET));
    const rl = l.step(Action.forward);
    expect(rl.terminated).toBe(true);
    expect(rl.reward).toBe(0);
  });
});

describe('pickup and drop', () => {
  it('picks up only with empty hands, drops only onto an empty cell, shows the carried object', () => {
    const env = envFromState(room8(['>>AgKb......', ...EMPTY_ROWS], NO_TARGET));
    const ball = env.grid.get(2, 1)!;
    const r = env.step(Action.pickup);
    expect(env.carrying).toBe(ball);
    expect(env.grid.get(2, 1)).toBeNull();
    expect(ball.curPos).toEqual([-1, -1]);
    expect(Array.from(r.obs.image.subarray(AGENT_CELL, AGENT_CELL + 3))).toEqual([6, 1, 0]);
    env.step(Action.forward);
    env.step(Action.pickup); // hands full: the key stays
    expect(env.grid.get(3, 1)?.type).toBe('key');
    env.step(Action.drop); // key in front: cannot drop
    expect(env.carrying).toBe(ball);
    env.step(Action.right);
    const d = env.step(Action.drop);
    expect(env.carrying).toBeNull();
    expect(env.grid.get(2, 2)).toBe(ball);
    expect(ball.curPos).toEqual([2, 2]);
    expect(Array.from(d.obs.image.subarray(AGENT_CELL, AGENT_CELL + 3))).toEqual([1, 0, 0]);
  });

  it('cannot pick up walls, doors, goals', () => {
    for (const code of ['We', 'Dr', 'Or', 'Gg']) {
      const env = envFromState(twoRooms({ 6: '>>', 7: code }, NO_TARGET));
      env.step(Action.pickup);
      expect(env.carrying, code).toBeNull();
    }
  });
});

describe('toggle', () => {
  it('opens and closes an unlocked door', () => {
    const env = envFromState(twoRooms({ 6: '>>', 7: 'Dr' }, NO_TARGET));
    const door = env.grid.get(7, 1) as Door;
    env.step(Action.toggle);
    expect(door.isOpen).toBe(true);
    expect(door.encode()).toEqual([4, 0, 0]);
    env.step(Action.toggle);
    expect(door.isOpen).toBe(false);
    expect(door.encode()).toEqual([4, 0, 1]);
  });

  it('unlocks a locked door only with a key of its colour, which also opens it', () => {
    const noKey = envFromState(twoRooms({ 6: '>>', 7: 'Lr' }, NO_TARGET));
    noKey.step(Action.toggle);
    expect((noKey.grid.get(7, 1) as Door).isLocked).toBe(true);
    const wrongKey = envFromState(twoRooms({ 6: '>>', 7: 'Lr' }, NO_TARGET, [5, 2, 0]));
    wrongKey.step(Action.toggle);
    expect((wrongKey.grid.get(7, 1) as Door).encode()).toEqual([4, 0, 2]);
    const ball = envFromState(twoRooms({ 6: '>>', 7: 'Lr' }, NO_TARGET, [6, 0, 0]));
    ball.step(Action.toggle);
    expect((ball.grid.get(7, 1) as Door).isLocked).toBe(true);
    const key = envFromState(twoRooms({ 6: '>>', 7: 'Lr' }, NO_TARGET, [5, 0, 0]));
    key.step(Action.toggle);
    const door = key.grid.get(7, 1) as Door;
    expect([door.isLocked, door.isOpen]).toEqual([false, true]);
    expect(key.carrying?.type).toBe('key'); // the key is kept
    key.step(Action.toggle);
    expect(door.encode()).toEqual([4, 0, 1]); // now an ordinary closed door
  });

  it('replaces a box by its contents (or nothing)', () => {
    const env = envFromState(room8(['>>Xb........', ...EMPTY_ROWS], NO_TARGET));
    env.step(Action.toggle);
    expect(env.grid.get(2, 1)).toBeNull();
    const env2 = envFromState(room8(['>>Xb........', ...EMPTY_ROWS], NO_TARGET));
    const inside = new Key('yellow');
    (env2.grid.get(2, 1) as Box).contains = inside;
    env2.step(Action.toggle);
    expect(env2.grid.get(2, 1)).toBe(inside);
  });

  it('does nothing on balls, keys, walls and empty cells', () => {
    for (const code of ['Ab', 'Kb', 'We', '..']) {
      const env = envFromState(twoRooms({ 6: '>>', 7: code }, NO_TARGET));
      const before = Array.from(env.grid.encode());
      env.step(Action.toggle);
      expect(Array.from(env.grid.encode()), code).toEqual(before);
    }
  });
});

describe('rules of the object classes', () => {
  it('answer canOverlap / canPickup / seeBehind as MiniGrid', () => {
    expect(new Door('red', true).canOverlap()).toBe(true);
    expect(new Door('red').seeBehind()).toBe(false);
    expect(new Door('red', true).seeBehind()).toBe(true);
    expect(new Ball('red').canPickup()).toBe(true);
    expect(new Ball('red').canOverlap()).toBe(false);
    expect(new Key('red').seeBehind()).toBe(true);
  });
});

describe('episode limits and reward', () => {
  it('truncates at max_steps and rewards 1 - 0.9·t/max_steps', () => {
    const env = envFromState(room8(['>>..........', ...EMPTY_ROWS], NO_TARGET, { max_steps: 5 }));
    for (let t = 1; t <= 5; t++) {
      const r = env.step(Action.left);
      expect(r.truncated).toBe(t === 5);
      expect(r.done).toBe(t === 5);
      expect(r.terminated).toBe(false);
    }
    const win = envFromState(room8(['>>..Ar......', ...EMPTY_ROWS], 'go to the red ball', { max_steps: 10 }));
    win.step(Action.left);
    win.step(Action.right);
    const r = win.step(Action.forward);
    expect(r.status).toBe('success');
    expect(r.reward).toBeCloseTo(1 - 0.9 * (3 / 10), 12);
    expect(win.reward()).toBeCloseTo(0.73, 12);
  });

  it('reports success and truncation together on the last step', () => {
    const env = envFromState(room8(['>>..Ar......', ...EMPTY_ROWS], 'go to the red ball', { max_steps: 1 }));
    const r = env.step(Action.forward);
    expect([r.terminated, r.truncated, r.done]).toEqual([true, true, true]);
    expect(r.reward).toBeCloseTo(0.1, 12);
  });

  it('treats done (6) as a no-op that costs a step', () => {
    const env = envFromState(room8(['>>..........', ...EMPTY_ROWS], NO_TARGET));
    const before = Array.from(env.grid.encode());
    env.step(Action.done);
    expect(env.stepCount).toBe(1);
    expect(Array.from(env.grid.encode())).toEqual(before);
    expect(env.agentPos).toEqual([1, 1]);
  });
});

describe('bad input', () => {
  it('rejects bad actions and stepping before reset with GlamError', () => {
    const env = envFromState(room8(['>>..........', ...EMPTY_ROWS], NO_TARGET));
    for (const a of [-1, 7, 2.5, NaN]) {
      expect(() => env.step(a)).toThrow(GlamError);
    }
    const fresh = makeEnv('BabyAI-GoToLocal-v0');
    expect(() => fresh.step(0)).toThrow(/reset/);
  });
});
