// Level registry and generation: determinism per level, max_steps and sizes, level invariants,
// MixedTrain/MixedTest held-out split, task kinds, makeEnv errors.

import { describe, expect, it } from 'vitest';
import {
  Door, envToState, HELD_OUT_PAIRS, levelInfo, listLevels, makeEnv, MixedLocal, TRAIN_PAIRS, type RoomGridLevel,
} from '../../lib/env/index.js';
import { GlamError } from '../../lib/errors.js';

const REQUIRED = [
  'GoToRedBall', 'GoToRedBallNoDists', 'GoToLocal', 'GoToLocalS8N4', 'GoToLocalS8N8', 'GoToLocalS8N16',
  'PickupLocal', 'PickupLoc', 'PutNextLocal', 'UnlockLocal', 'Open', 'PickUpThenGoToLocal',
  'GoToAfterPickUpLocal', 'MixedTrainLocal', 'MixedTestLocal',
];

function objects(env: RoomGridLevel): { type: string; color: string; x: number; y: number }[] {
  const out = [];
  for (let x = 0; x < env.grid.width; x++) {
    for (let y = 0; y < env.grid.height; y++) {
      const c = env.grid.get(x, y);
      if (c !== null && c.type !== 'wall') out.push({ type: c.type, color: c.color, x, y });
    }
  }
  return out;
}

const PAIR_RE = /\b(red|green|blue|purple|yellow|grey) (box|key|ball|door)\b/g;

describe('registry', () => {
  it('registers every level under BabyAI-<Name>-v0', () => {
    const ids = listLevels();
    for (const n of REQUIRED) expect(ids).toContain(`BabyAI-${n}-v0`);
    expect(levelInfo('BabyAI-GoToLocal-v0').roomSize).toBe(8);
    expect(makeEnv('GoToLocal').levelName).toBe('GoToLocal'); // bare names too
  });

  it('rejects unknown ids and bad options with GlamError', () => {
    expect(() => makeEnv('BabyAI-Nope-v0')).toThrow(GlamError);
    expect(() => makeEnv('BabyAI-Nope-v0')).toThrow(/BabyAI-GoToLocal-v0/);
    expect(() => makeEnv('BabyAI-GoToLocal-v0', { seed: 1.5 })).toThrow(GlamError);
    expect(() => makeEnv('BabyAI-GoToLocal-v0', { maxSteps: 0 })).toThrow(GlamError);
    expect(() => makeEnv('BabyAI-GoToLocal-v0', { language: 'german' as never })).toThrow(GlamError);
  });
});

describe('determinism: same seed → same episode, for every level', () => {
  for (const id of listLevels()) {
    it(id, () => {
      for (const seed of [0, 1, 42, 123456789]) {
        const a = makeEnv(id, { seed, text: false });
        const b = makeEnv(id, { seed, text: false });
        a.reset();
        b.reset();
        expect(envToState(a)).toEqual(envToState(b));
        // A second episode continues the stream identically too; reset({ seed }) restarts it.
        a.reset();
        b.reset();
        expect(envToState(a)).toEqual(envToState(b));
        const c = makeEnv(id, { seed: 999, text: false });
        c.reset({ seed });
        const d = makeEnv(id, { seed, text: false });
        d.reset();
        expect(envToState(c)).toEqual(envToState(d));
      }
      const missions = new Set<string>();
      const layouts = new Set<string>();
      for (let seed = 0; seed < 20; seed++) {
        const e = makeEnv(id, { seed, text: false });
        e.reset();
        missions.add(e.mission);
        layouts.add(JSON.stringify(envToState(e).grid) + e.agentPos.join());
      }
      expect(layouts.size).toBeGreaterThan(15); // different seeds, different episodes
    });
  }
});

describe('max_steps and sizes', () => {
  const expected: Record<string, [number, number, number]> = {
    GoToRedBall: [8, 8, 64], GoToRedBallNoDists: [8, 8, 64], GoToLocal: [8, 8, 64], GoToLocalS8N4: [8, 8, 64],
    GoToLocalS8N8: [8, 8, 64], GoToLocalS8N16: [8, 8, 64], PickupLocal: [8, 8, 64], PickupLoc: [8, 8, 64],
    PutNextLocal: [8, 8, 128], UnlockLocal: [22, 22, 576], Open: [22, 22, 576], PickUpThenGoToLocal: [8, 8, 128],
    GoToAfterPickUpLocal: [8, 8, 128], PickUpSeqGoToLocal: [8, 8, 128],
  };
  for (const [name, [w, h, m]] of Object.entries(expected)) {
    it(name, () => {
      for (let seed = 0; seed < 5; seed++) {
        const env = makeEnv(name, { seed, text: false });
        env.reset();
        expect([env.grid.width, env.grid.height, env.maxSteps]).toEqual([w, h, m]);
      }
    });
  }

  it('Mixed levels recompute max_steps from the task of each episode', () => {
    const byTask = new Map<string, Set<string>>();
    const env = makeEnv('BabyAI-MixedTrainLocal-v0', { seed: 5, text: false }) as MixedLocal;
    for (let k = 0; k < 200; k++) {
      env.reset();
      const key = `${env.grid.width}x${env.grid.height}:${env.maxSteps}`;
      if (!byTask.has(env.task)) byTask.set(env.task, new Set());
      byTask.get(env.task)!.add(key);
    }
    expect(Object.fromEntries([...byTask].map(([t, s]) => [t, [...s]]))).toEqual({
      'goto': ['8x8:64'], 'pickup': ['8x8:64'], 'open': ['15x8:128'], 'putnext': ['8x8:128'], 'pick up seq go to': ['8x8:128'],
    });
  });

  it('a fixed maxSteps option overrides BabyAI\'s limit', () => {
    const env = makeEnv('BabyAI-GoToLocal-v0', { maxSteps: 10 });
    env.reset();
    expect(env.maxSteps).toBe(10);
  });
});

describe('level contents', () => {
  it('GoToRedBall: a red ball and 7 distractors, all reachable; NoDists: the ball alone', () => {
    for (let seed = 0; seed < 30; seed++) {
      const e = makeEnv('GoToRedBall', { seed, text: false });
      e.reset();
      expect(e.mission).toMatch(/^go to (the|a) red ball$/);
      expect(objects(e).length).toBe(8);
      expect(e.checkObjsReachable()).toBe(true);
      const n = makeEnv('GoToRedBallNoDists', { seed, text: false });
      n.reset();
      expect(n.mission).toBe('go to the red ball');
      expect(objects(n).map((o) => `${o.color} ${o.type}`)).toEqual(['red ball']);
    }
  });

  it('GoToLocal variants have N objects, none next to the agent, agent not facing an object', () => {
    for (const [name, n] of [['GoToLocal', 8], ['GoToLocalS8N4', 4], ['GoToLocalS8N16', 16]] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const e = makeEnv(name, { seed, text: false });
        e.reset();
        const objs = objects(e);
        expect(objs.length).toBe(n);
        for (const o of objs) expect(Math.abs(o.x - e.agentPos[0]) + Math.abs(o.y - e.agentPos[1])).toBeGreaterThanOrEqual(2);
        expect(e.mission).toMatch(/^go to (the|a) (red|green|blue|purple|yellow|grey) (box|ball|key)$/);
      }
    }
  });

  it('PutNextLocal: 8 unique objects, the two named ones not adjacent', () => {
    for (let seed = 0; seed < 30; seed++) {
      const e = makeEnv('PutNextLocal', { seed, text: false });
      e.reset();
      const objs = objects(e);
      expect(new Set(objs.map((o) => `${o.color} ${o.type}`)).size).toBe(8);
      const m = /^put the (\w+) (\w+) next to the (\w+) (\w+)$/.exec(e.mission)!;
      expect(m).not.toBeNull();
      const a = objs.find((o) => o.color === m[1] && o.type === m[2])!;
      const b = objs.find((o) => o.color === m[3] && o.type === m[4])!;
      expect(Math.abs(a.x - b.x) + Math.abs(a.y - b.y)).toBeGreaterThan(1);
    }
  });

  it('PickupLoc and PickupLocal name pickable objects (PickupLocal always with a colour)', () => {
    for (let seed = 0; seed < 40; seed++) {
      const a = makeEnv('PickupLoc', { seed, text: false });
      a.reset();
      expect(a.mission).toMatch(/^pick up (the|a) ((red|green|blue|purple|yellow|grey) )?(box|ball|key|object)( in front of you| behind you| on your left| on your right)?$/);
      const b = makeEnv('PickupLocal', { seed, text: false });
      b.reset();
      expect(b.mission).toMatch(/^pick up (the|a) (red|green|blue|purple|yellow|grey) (box|ball|key)$/);
    }
  });

  it('UnlockLocal: a locked door on the centre room and its key inside; "open the door"', () => {
    for (let seed = 0; seed < 20; seed++) {
      const e = makeEnv('UnlockLocal', { seed, text: false });
      e.reset();
      expect(e.mission).toBe('open the door');
      const centre = e.getRoom(1, 1);
      const doors = centre.doors.filter((d): d is Door => d instanceof Door);
      expect(doors.length).toBe(1);
      expect(doors[0]!.isLocked).toBe(true);
      const keys = objects(e).filter((o) => o.type === 'key');
      expect(keys.length).toBe(1);
      expect(keys[0]!.color).toBe(doors[0]!.color);
      expect(centre.posInside(keys[0]!.x, keys[0]!.y)).toBe(true);
      expect(centre.posInside(e.agentPos[0], e.agentPos[1])).toBe(true);
    }
  });

  it('Open: all rooms connected, 18 distractors, names a door colour', () => {
    for (let seed = 0; seed < 10; seed++) {
      const e = makeEnv('Open', { seed, text: false });
      e.reset();
      expect(e.mission).toMatch(/^open (the|a) (red|green|blue|purple|yellow|grey) door$/);
      expect(objects(e).filter((o) => o.type !== 'door').length).toBe(18);
      expect(e.checkObjsReachable()).toBe(true);
    }
  });

  it('sequence levels use their order', () => {
    for (let seed = 0; seed < 20; seed++) {
      const t = makeEnv('PickUpThenGoToLocal', { seed, text: false });
      t.reset();
      expect(t.mission).toMatch(/^pick up (the|a) \w+ \w+, then go to (the|a) \w+ \w+$/);
      const a = makeEnv('GoToAfterPickUpLocal', { seed, text: false });
      a.reset();
      expect(a.mission).toMatch(/^go to (the|a) \w+ \w+ after you pick up (the|a) \w+ \w+$/);
      for (const m of [t.mission, a.mission]) for (const p of HELD_OUT_PAIRS) expect(m).not.toContain(p);
    }
  });
});

describe('MixedTrainLocal / MixedTestLocal split', () => {
  it('train never uses a held-out pair; test uses only held-out pairs; door colours split', () => {
    const train = makeEnv('BabyAI-MixedTrainLocal-v0', { seed: 11, text: false }) as MixedLocal;
    const test = makeEnv('BabyAI-MixedTestLocal-v0', { seed: 12, text: false }) as MixedLocal;
    const trainTasks = new Set<string>();
    const testTasks = new Set<string>();
    const trainDoor = new Set<string>();
    const testDoor = new Set<string>();
    for (let k = 0; k < 300; k++) {
      train.reset();
      trainTasks.add(train.task);
      for (const p of HELD_OUT_PAIRS) expect(train.mission, train.mission).not.toContain(p);
      if (train.task === 'open') trainDoor.add(train.mission);
      test.reset();
      testTasks.add(test.task);
      const pairs = test.mission.match(PAIR_RE) ?? [];
      expect(pairs.length, test.mission).toBeGreaterThan(0);
      for (const p of pairs) expect(HELD_OUT_PAIRS, test.mission).toContain(p);
      for (const p of TRAIN_PAIRS) expect(test.mission).not.toContain(p);
      if (test.task === 'open') testDoor.add(test.mission);
    }
    expect(trainTasks.size).toBe(5);
    expect(testTasks.size).toBe(5);
    for (const m of trainDoor) expect(m).toMatch(/^open the( (yellow|green|blue|purple))? door$/);
    expect(trainDoor).toContain('open the door');
    expect([...testDoor].sort()).toEqual(['open the grey door', 'open the red door']);
  });

  it('taskPerInstance fixes the task kind for all episodes of an instance (GLAM release behaviour)', () => {
    const kinds = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const env = makeEnv('BabyAI-MixedTrainLocal-v0', { seed, taskPerInstance: true, text: false }) as MixedLocal;
      const mine = new Set<string>();
      for (let k = 0; k < 5; k++) {
        env.reset();
        mine.add(env.task);
      }
      expect(mine.size).toBe(1);
      kinds.add([...mine][0]!);
    }
    expect(kinds.size).toBe(5);
  });
});

describe('generation statistics match MiniGrid', () => {
  // Counts over 400 seeds measured with Farama MiniGrid 3.2.0 (gym.make(id).reset(seed=s), s < 400):
  // how many missions use "the" and how many use a location. Our generator draws different random
  // numbers, so we require the same counts within ±40 (about 4 binomial standard deviations).
  const minigrid: Record<string, { the: number; loc: number }> = {
    GoToLocal: { the: 277, loc: 0 },
    PickupLoc: { the: 269, loc: 134 },
    PutNextLocal: { the: 400, loc: 0 },
    Open: { the: 90, loc: 0 },
    UnlockLocal: { the: 400, loc: 0 },
  };
  for (const [name, ref] of Object.entries(minigrid)) {
    it(name, () => {
      let the = 0;
      let loc = 0;
      for (let seed = 0; seed < 400; seed++) {
        const e = makeEnv(name, { seed, text: false });
        e.reset();
        if (!` ${e.mission} `.includes(' a ')) the++;
        if (/on your|behind you|in front of you/.test(e.mission)) loc++;
      }
      expect(Math.abs(the - ref.the), `"the" ${the} vs MiniGrid ${ref.the}`).toBeLessThanOrEqual(40);
      expect(Math.abs(loc - ref.loc), `locations ${loc} vs MiniGrid ${ref.loc}`).toBeLessThanOrEqual(40);
    });
  }
});

describe('text', () => {
  it('English by default, French on request (mission stays English)', () => {
    const en = makeEnv('BabyAI-GoToLocal-v0', { seed: 1 });
    const fr = makeEnv('BabyAI-GoToLocal-v0', { seed: 1, language: 'french' });
    const a = en.reset();
    const b = fr.reset();
    expect(a.mission).toBe(b.mission);
    expect(a.descriptions.length).toBeGreaterThan(0);
    expect(a.descriptions.every((d) => d.startsWith('You '))).toBe(true);
    expect(b.descriptions.every((d) => d.startsWith('Tu '))).toBe(true);
    const off = makeEnv('BabyAI-GoToLocal-v0', { seed: 1, text: false });
    expect(off.reset().descriptions).toEqual([]);
  });
});
