// Behaviour cloning: the loss's gradient w.r.t. the candidate log-probs (finite differences), the
// seeded demo stream (each demo once per pass, the same batches after a resume), and BC on a few bot
// demonstrations lowering the BC loss of a tiny model.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, test, vi } from 'vitest';

import { GLAM_ACTIONS } from '../../lib/agent/actions.js';
import { initModel } from '../../lib/model/init-model.js';
import { Policy } from '../../lib/policy/policy.js';
import { bcLoss, demoBatch, loadDemos, trainBc, type BcUpdateReport } from '../../lib/ppo/bc.js';
import { resolvePpoConfig } from '../../lib/ppo/config.js';

const LEVEL = 'BabyAI-GoToRedBallNoDists-v0';
let model: string;

beforeAll(() => {
  model = join(mkdtempSync(join(tmpdir(), 'glam-bc-')), 'm');
  initModel(model, { arch: 'llama', layers: 1, hidden: 32, heads: 2, seed: 3 });
});

test('bcLoss: mean −log softmax[a*], gradient (p − onehot)/B matches finite differences', () => {
  const candOffset = Int32Array.from([0, 3, 7]);
  const l = Float64Array.from([-1.2, -0.3, -2.5, -0.7, -0.1, -3.0, -1.1]);
  const targets = [2, 1];
  const r = bcLoss(l, candOffset, targets);
  const ref = (x: Float64Array) => {
    let s = 0;
    for (let b = 0; b < 2; b++) {
      const lo = candOffset[b]!, hi = candOffset[b + 1]!;
      const z = Math.log(Array.from(x.subarray(lo, hi)).reduce((a, v) => a + Math.exp(v), 0));
      s -= x[lo + targets[b]!]! - z;
    }
    return s / 2;
  };
  expect(r.loss).toBeCloseTo(ref(l), 12);
  for (let k = 0; k < l.length; k++) {
    const h = 1e-6;
    const up = Float64Array.from(l), dn = Float64Array.from(l);
    up[k] += h;
    dn[k] -= h;
    expect(r.dLogprobs[k]).toBeCloseTo((ref(up) - ref(dn)) / (2 * h), 7);
  }
  expect(r.accuracy).toBe(0.5); // prompt 1's argmax (-0.1, index 1) is its target; prompt 0's is not
  expect(() => bcLoss(l, candOffset, [3, 1])).toThrow(/candidate index/);
});

test('demoBatch: every demo once per pass, deterministic, a resumed run reads the same batches', () => {
  const n = 10, B = 4;
  const stream = Array.from({ length: 5 }, (_, u) => Array.from(demoBatch(n, B, u, 7))).flat();
  expect([...stream.slice(0, 10)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect([...stream.slice(10, 20)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(stream.slice(0, 10)).not.toEqual(stream.slice(10, 20)); // reshuffled each pass
  expect(Array.from(demoBatch(n, B, 3, 7))).toEqual(stream.slice(12, 16));
  expect(Array.from(demoBatch(n, B, 3, 8))).not.toEqual(stream.slice(12, 16));
});

let policy: Policy | undefined;
afterAll(async () => { await policy?.dispose(); });

test('BC on a few bot demonstrations lowers the BC loss', async () => {
  const cfg = resolvePpoConfig({ level: LEVEL, numEnvs: 2, numSteps: 8, updateEpochs: 2, minibatchSize: 8, learningRate: 3e-3, totalFrames: 16 * 8, seed: 1 }, 'small');
  const demos = loadDemos(LEVEL, { episodes: 4, seed: 0, memory: cfg.memory });
  expect(demos.successes).toBe(4);
  expect(demos.prompts.length).toBeGreaterThan(4);
  expect(demos.prompts[0]).toMatch(/^Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n Goal of the agent: go to the red ball/);
  policy = await Policy.load(model, { threads: 1, valueHidden: [16] });
  const loss = async () => {
    const r = await policy!.score({ prompts: demos.prompts, candidates: demos.prompts.map(() => [...GLAM_ACTIONS]) });
    return bcLoss(r.logprobs, r.candOffset, demos.actions).loss;
  };
  const before = await loss();
  const reports: BcUpdateReport[] = [];
  const done = await trainBc(policy, cfg, { demoEpisodes: 4, demoSeed: 0, evalEvery: 4, evalEpisodes: 2, evalSeed: 1_000_000 }, {
    demos, onUpdate: (r) => void reports.push(r),
  });
  const after = await loss();
  expect(done).toBe(8);
  expect(reports.map((r) => r.frames)).toEqual([16, 32, 48, 64, 80, 96, 112, 128]);
  expect(after).toBeLessThan(0.8 * before);
  expect(reports.at(-1)!.metrics['losses/bc_loss']).toBeLessThan(reports[0]!.metrics['losses/bc_loss']!);
  // greedy evaluation every 4 updates
  expect(reports.filter((r) => r.metrics['eval/success_rate'] !== undefined).map((r) => r.update)).toEqual([4, 8]);
  expect(policy.trainingInfo().step).toBe(8 * 2 * 2); // updates x epochs x minibatches (16 / 8)
});

test("BC's forward and its greedy evaluation tokenize by the config: Lamorel's in GLAM's preset (a T5 model)", async () => {
  const cfg = resolvePpoConfig({ level: LEVEL, numEnvs: 2, numSteps: 4, updateEpochs: 1, minibatchSize: 8, totalFrames: 8, valueHidden: [8], seed: 1 }, 'glam');
  expect(cfg.tokenization).toBe('lamorel');
  const demos = loadDemos(LEVEL, { episodes: 2, seed: 0, memory: cfg.memory });
  const t5 = await Policy.load(join(__dirname, '..', 'fixtures', 'models', 't5-v1_0'), { threads: 1, valueHidden: [8] });
  const asked: unknown[] = [];
  const forward = t5.forward.bind(t5), score = t5.score.bind(t5);
  vi.spyOn(t5, 'forward').mockImplementation((req, o) => (asked.push((req as { tokenization?: string }).tokenization), forward(req, o)));
  vi.spyOn(t5, 'score').mockImplementation((req) => (asked.push(req.tokenization), score(req)));
  try {
    expect(await trainBc(t5, cfg, { demoEpisodes: 2, demoSeed: 0, evalEvery: 1, evalEpisodes: 1, evalSeed: 1_000_000 }, { demos })).toBe(1);
  } finally {
    vi.restoreAllMocks();
    await t5.dispose();
  }
  expect(asked.length).toBeGreaterThan(1); // the update's forward and the evaluation's scoring
  expect(new Set(asked)).toEqual(new Set(['lamorel']));
});
