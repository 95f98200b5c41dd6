// BabyAI instruction semantics: verify() of every kind (success / failure / continue), sequencing,
// "the"/"a", locations, numNavs, and surface() reproducing every recorded mission.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  Action, AfterInstr, AndInstr, BeforeInstr, envFromState, GoToInstr, ObjDesc, OpenInstr, parseMission,
  PickupInstr, PutNextInstr, type EnvState, type RoomGridLevel,
} from '../../lib/env/index.js';
import { room8, stateFromMap } from './helpers.js';

const E = '............';
const { left, right, forward, pickup, drop, toggle } = Action;

/** Runs actions, returning the status after each. */
function run(env: RoomGridLevel, actions: number[]): string[] {
  return actions.map((a) => env.step(a).status);
}


describe('GoTo', () => {
  it('succeeds when facing a matching object, by position', () => {
    const env = envFromState(room8(['>>..Ar....Ar', E, E, E, E, E], 'go to a red ball'));
    expect(run(env, [left, right])).toEqual(['continue', 'continue']);
    const r = env.step(forward);
    expect([r.status, r.terminated]).toEqual(['success', true]);
  });

  it('keeps the picked-up object position until a drop refreshes it (BabyAI quirk)', () => {
    // Facing the cell where the green ball was still counts: objPoss is only refreshed after drops.
    const env = envFromState(room8(['>>Ag..Ar....', E, E, E, E, E], 'go to the red ball', { carrying: null }));
    env.instrs = parseMission('go to the green ball');
    env.instrs.resetVerifier(env);
    // pickup happens, then GoTo is verified against the stale position in front: success.
    expect(env.step(pickup).status).toBe('success');

    // Positions are refreshed only by drops: after the pickup the old cell is still tracked,
    // after a drop elsewhere the new one is.
    const env2 = envFromState(room8(['>>Ag..Ar....', E, E, E, E, E], 'go to the red ball'));
    const desc = new ObjDesc('ball', 'green');
    env2.instrs = new GoToInstr(desc);
    env2.instrs.resetVerifier(env2);
    env2.step(pickup);
    expect(desc.objPoss).toEqual([[2, 1]]);
    env2.step(right);
    env2.step(drop);
    expect(desc.objPoss).toEqual([[1, 2]]);
  });
});

describe('Pickup', () => {
  it('succeeds on picking up a matching object only', () => {
    const env = envFromState(room8(['>>Ab..Ar....', E, E, E, E, E], 'pick up the red ball'));
    expect(run(env, [pickup])).toEqual(['continue']); // blue ball picked: not the target
    expect(run(env, [right, drop, left, forward, forward, pickup])).toEqual(['continue', 'continue', 'continue', 'continue', 'continue', 'success']);
  });

  it('needs empty hands at the previous verify call (preCarrying), not just now', () => {
    // Start carrying a key: preCarrying is null at reset, the first pickup fails (hands full),
    // then drop + pickup succeeds.
    const env = envFromState(room8(['>>Ar........', E, E, E, E, E], 'pick up the red ball', { carrying: [5, 2, 0] }));
    expect(env.step(pickup).status).toBe('continue');
    env.step(right);
    env.step(drop);
    env.step(left);
    expect(env.step(pickup).status).toBe('success');
  });

  it('strict mode fails on picking up a wrong object', () => {
    const env = envFromState(room8(['>>Ab..Ar....', E, E, E, E, E], 'pick up the red ball'));
    env.instrs = new PickupInstr(new ObjDesc('ball', 'red'), true);
    env.instrs.resetVerifier(env);
    const r = env.step(pickup);
    expect([r.status, r.terminated, r.reward]).toEqual(['failure', true, 0]);
  });
});

describe('Open', () => {
  const doors = (mission: string, carrying: [number, number, number] | null = null) => {
    const rows: string[] = [];
    for (let y = 0; y < 8; y++) {
      let r = '';
      for (let x = 0; x < 15; x++) {
        if (y === 1 && x === 6) r += '>>';
        else if (y === 1 && x === 7) r += 'Dr';
        else if (y === 3 && x === 7) r += 'Db';
        else r += y === 0 || y === 7 || x === 0 || x === 14 || x === 7 ? 'We' : '..';
      }
      rows.push(r);
    }
    return stateFromMap(rows, mission, { carrying, max_steps: 128 });
  };

  it('succeeds when a toggle leaves a matching door open', () => {
    const env = envFromState(doors('open the red door'));
    expect(env.step(toggle).status).toBe('success');
  });

  it('closing an open door or opening another door does not count', () => {
    const env = envFromState(doors('open the blue door'));
    expect(run(env, [toggle, toggle])).toEqual(['continue', 'continue']);
    const strict = envFromState(doors('open the blue door'));
    strict.instrs = new OpenInstr(new ObjDesc('door', 'blue'), true);
    strict.instrs.resetVerifier(strict);
    expect(strict.step(toggle).status).toBe('failure');
  });

  it('"open the door" matches any door', () => {
    const env = envFromState(doors('open a door'));
    expect(env.step(toggle).status).toBe('success');
  });
});

describe('PutNext', () => {
  it('succeeds when the carried matching object is dropped next to a fixed one', () => {
    // ball at (2,1); box at (4,3). Pick the ball, walk to (4,1), drop it at (4,2) (above the box).
    const env = envFromState(room8(['>>Ar........', E, '......Xb....', E, E, E], 'put the red ball next to the blue box', { max_steps: 128 }));
    const s = run(env, [pickup, forward, forward, forward, right, drop]);
    expect(s).toEqual(['continue', 'continue', 'continue', 'continue', 'continue', 'success']);
    // A drop diagonal to the box does not count.
    const diag = envFromState(room8(['>>Ar........', E, '......Xb....', E, E, E], 'put the red ball next to the blue box', { max_steps: 128 }));
    expect(run(diag, [pickup, forward, forward, right, drop])).toEqual(['continue', 'continue', 'continue', 'continue', 'continue']);
  });

  it('a drop far away, or of another object, does not count', () => {
    const env = envFromState(room8(['>>Ar........', E, '......Xb....', E, E, E], 'put the red ball next to the blue box', { max_steps: 128 }));
    expect(run(env, [pickup, right, drop])).toEqual(['continue', 'continue', 'continue']);
    const env2 = envFromState(room8(['>>Ag........', E, '......Xb....', E, E, E], 'put the red ball next to the blue box', { max_steps: 128 }));
    expect(run(env2, [pickup, forward, forward, right, drop])).toEqual(['continue', 'continue', 'continue', 'continue', 'continue']);
  });

  it('objsNext detects objects already adjacent', () => {
    const env = envFromState(room8(['>>..ArXb....', E, E, E, E, E], 'put the red ball next to the blue box'));
    expect((env.instrs as PutNextInstr).objsNext()).toBe(true);
  });
});

describe('sequences', () => {
  const map = ['>>Ar..Ab....', E, E, E, E, E];

  it('Before: a then b succeeds; b first does not count (continue), and fails in strict mode', () => {
    const env = envFromState(room8(map, 'pick up the red ball, then go to the blue ball', { max_steps: 128 }));
    expect(env.instrs).toBeInstanceOf(BeforeInstr);
    expect(run(env, [pickup, forward, forward])).toEqual(['continue', 'continue', 'success']);

    const b1 = envFromState(room8(['>>Ab..Ar....', E, E, E, E, E], 'pick up the red ball, then go to the blue ball', { max_steps: 128 }));
    expect(b1.step(left).status).toBe('continue'); // facing nothing
    expect(b1.step(right).status).toBe('continue'); // facing the blue ball: b would succeed, but a is due

    const strict = envFromState(room8(['>>Ab..Ar....', E, E, E, E, E], 'pick up the red ball, then go to the blue ball', { max_steps: 128 }));
    const a = new PickupInstr(new ObjDesc('ball', 'red'));
    const b = new GoToInstr(new ObjDesc('ball', 'blue'));
    strict.instrs = new BeforeInstr(a, b, true);
    strict.instrs.resetVerifier(strict);
    expect(strict.step(left).status).toBe('continue');
    expect(strict.step(right).status).toBe('failure');
  });

  it('Before verifies b with the same action that completes a', () => {
    // Two red balls: picking one up completes a; b (go to a red ball) is then verified against the
    // stale position of the ball just picked up, in front: success on the same step.
    const env = envFromState(room8(['>>Ar....Ar..', E, E, E, E, E], 'pick up a red ball, then go to a red ball', { max_steps: 128 }));
    const r = env.step(pickup);
    expect([r.status, r.reward]).toEqual(['success', 1 - 0.9 * (1 / 128)]);
  });

  it('After: "a after you b" needs b first', () => {
    const env = envFromState(room8(['>>Ab..Ar....', E, E, E, E, E], 'go to the blue ball after you pick up the red ball', { max_steps: 128 }));
    expect(env.instrs).toBeInstanceOf(AfterInstr);
    expect(env.step(left).status).toBe('continue');
    expect(env.step(right).status).toBe('continue'); // facing the blue ball before picking up: no
    const env2 = envFromState(room8(['>>..Ar..Ab..', E, E, E, E, E], 'go to the blue ball after you pick up the red ball', { max_steps: 128 }));
    expect(run(env2, [forward, pickup, forward, forward])).toEqual(['continue', 'continue', 'continue', 'success']);
  });

  it('And: both clauses, in any order', () => {
    const env = envFromState(room8(['>>Ar..Ab....', E, E, E, E, E], 'go to the blue ball and pick up the red ball', { max_steps: 128 }));
    expect(env.instrs).toBeInstanceOf(AndInstr);
    expect(run(env, [pickup])).toEqual(['continue']);
    expect(run(env, [forward])).toEqual(['continue']);
    expect(run(env, [forward])).toEqual(['success']);
  });
});

describe('descriptions', () => {
  it('uses "the" for one match and "a" for several', () => {
    const env = envFromState(room8(['>>Ar..Ar..Kb', E, E, E, E, E], 'go to the blue key'));
    expect(new ObjDesc('ball', 'red').surface(env)).toBe('a red ball');
    expect(new ObjDesc('key', 'blue').surface(env)).toBe('the blue key');
    expect(new ObjDesc('key').surface(env)).toBe('the key');
    expect(new ObjDesc(null, 'red').surface(env)).toBe('a red object');
    expect(new ObjDesc('key', null, 'front').surface(env)).toBe('the key in front of you');
    expect(() => new ObjDesc('box').surface(env)).toThrow(/No object/);
  });

  it('resolves locations against the start pose, within the start room only', () => {
    // Agent at (3,3) facing north. Balls: (3,1) front, (5,3) right, (1,3) left, (3,5) behind, (5,1) front+right.
    const env = envFromState(room8([
      '....Ar..Ag..',
      '............',
      'Ab..^^..Ay..',
      '............',
      '....Ap......',
      '............',
    ], 'pick up the ball in front of you'));
    const names = (loc: 'left' | 'right' | 'front' | 'behind') =>
      new ObjDesc('ball', null, loc).findMatchingObjs(env).objSet.map((o) => o.color).sort();
    expect(names('front')).toEqual(['green', 'red']);
    expect(names('right')).toEqual(['green', 'yellow']);
    expect(names('left')).toEqual(['blue']);
    expect(names('behind')).toEqual(['purple']);
    // After the agent turns, the instruction keeps its start-pose meaning.
    const target = env.instrs as PickupInstr;
    expect(target.desc.objSet.map((o) => o.color).sort()).toEqual(['green', 'red']);
    env.step(right);
    env.step(right);
    expect(target.desc.objSet.map((o) => o.color).sort()).toEqual(['green', 'red']);
  });
});

describe('numNavs and max_steps', () => {
  it('counts PutNext as 2, clauses as 1, sequences as the sum', () => {
    expect(parseMission('go to the red ball').numNavs()).toBe(1);
    expect(parseMission('open the door').numNavs()).toBe(1);
    expect(parseMission('put the red ball next to a key').numNavs()).toBe(2);
    expect(parseMission('pick up a key, then go to a box').numNavs()).toBe(2);
    expect(parseMission('put a key next to a box and go to a ball after you open the door').numNavs()).toBe(4);
  });
});

describe('surface() reproduces every recorded mission', () => {
  for (const [name, rel] of [['GLAM', '../fixtures/babyai-text/glam-episodes.jsonl.gz'], ['MiniGrid', '../fixtures/minigrid/episodes.jsonl.gz']] as const) {
    it(name, () => {
      const text = gunzipSync(readFileSync(fileURLToPath(new URL(rel, import.meta.url)))).toString('utf8');
      let n = 0;
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        const ep = JSON.parse(line) as EnvState;
        const env = envFromState(ep, { text: false });
        expect(env.requireInstrs().surface(env), `${ep.level}: ${ep.mission}`).toBe(ep.mission);
        n++;
      }
      expect(n).toBeGreaterThanOrEqual(200);
    });
  }
});
