// PPO config: GLAM's defaults, derived sizes, the small preset, and validation of every field.

import { describe, expect, it } from 'vitest';
import { GlamError } from '../../lib/errors.js';
import { resolvePpoConfig, type PpoConfigInput } from '../../lib/ppo/config.js';
import { presetFor } from '../../lib/ppo/presets.js';

describe('resolvePpoConfig', () => {
  it("defaults to GLAM's paper settings and derives the sizes once", () => {
    const c = resolvePpoConfig();
    expect(c).toMatchObject({
      numEnvs: 32, numSteps: 40, updateEpochs: 4, minibatchSize: 64, learningRate: 1e-6, adamBetas: [0.9, 0.999],
      adamEps: 1e-5, weightDecay: 0, gamma: 0.99, gaeLambda: 0.99, clipCoef: 0.2, clipVloss: true, entCoef: 0.01,
      vfCoef: 0.5, maxGradNorm: 0.5, rewardScale: 20, normAdv: false, memory: { observations: 3, actions: 2 },
      level: 'BabyAI-MixedTrainLocal-v0', totalFrames: 1_500_000, valueHidden: [1024, 1024],
    });
    expect(c.batchSize).toBe(1280);
    expect(c.numMinibatches).toBe(20); // × 4 epochs = 80 gradient steps per update
    expect(c.numUpdates).toBe(1172); // GLAM: while frames < 1.5e6
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.memory)).toBe(true);
  });

  it('applies overrides, a short last minibatch, and memory.actions = observations − 1 when only observations is given', () => {
    const c = resolvePpoConfig({ numEnvs: 10, numSteps: 10, minibatchSize: 32, totalFrames: 1000, memory: { observations: 5 } });
    expect(c.batchSize).toBe(100);
    expect(c.numMinibatches).toBe(4); // 32, 32, 32, 4
    expect(c.numUpdates).toBe(10);
    expect(c.memory).toEqual({ observations: 5, actions: 4 });
    expect(resolvePpoConfig({ memory: { actions: 0 } }).memory).toEqual({ observations: 3, actions: 0 });
    expect(resolvePpoConfig({ maxGradNorm: Infinity }).maxGradNorm).toBe(Infinity);
  });

  it('resolves its own JSON rendering again (derived keys checked, null maxGradNorm = Infinity)', () => {
    const c = resolvePpoConfig({ maxGradNorm: Infinity, numEnvs: 8 });
    const again = resolvePpoConfig(JSON.parse(JSON.stringify(c)) as PpoConfigInput);
    expect(again).toEqual(c);
    expect(again.maxGradNorm).toBe(Infinity);
    expect(() => resolvePpoConfig({ numEnvs: 8, batchSize: 1280 })).toThrow(/Expected 320 \(derived from the other fields\) or no value for batchSize but received 1280/);
  });

  it('resolves the small preset: same structure, valid, learnable level', () => {
    const small = presetFor('small');
    expect(Object.keys(small).sort()).toEqual(Object.keys(presetFor('glam')).sort());
    const c = resolvePpoConfig({}, 'small');
    expect(c).toMatchObject({ numEnvs: 16, numSteps: 32, learningRate: 3e-4, entCoef: 0.05, updateEpochs: 2, level: 'BabyAI-GoToRedBallNoDists-v0',
      valueHidden: [64, 64], memory: { observations: 1, actions: 0 } });
    expect(c.batchSize).toBe(512);
    expect(c.numMinibatches).toBe(4);
    expect(c.numUpdates).toBe(60);
    expect(resolvePpoConfig({ learningRate: 3e-4 }, 'small').numEnvs).toBe(16);
    // presetFor returns copies: mutating one does not leak into the next.
    (small.memory as { observations: number }).observations = 9;
    (small.valueHidden as number[])[0] = 7;
    expect(presetFor('small').memory.observations).toBe(1);
    expect(presetFor('small').valueHidden).toEqual([64, 64]);
  });

  it("tokenization: GLAM's preset is Lamorel's (prompts without special tokens), the others glam's own; validated; JSON round trip", () => {
    expect(resolvePpoConfig().tokenization).toBe('lamorel');
    expect(resolvePpoConfig({}, 'glam').tokenization).toBe('lamorel');
    expect(resolvePpoConfig({}, 'small').tokenization).toBe('separate');
    expect(resolvePpoConfig({}, 'pretrained').tokenization).toBe('separate');
    expect(resolvePpoConfig({ tokenization: 'separate' }, 'glam').tokenization).toBe('separate');
    expect(resolvePpoConfig({ tokenization: 'joint' }, 'small').tokenization).toBe('joint');
    const c = resolvePpoConfig({ tokenization: 'lamorel' }, 'small');
    expect(resolvePpoConfig(JSON.parse(JSON.stringify(c)) as PpoConfigInput, 'small')).toEqual(c);
    expect(() => resolvePpoConfig({ tokenization: 'Lamorel' as 'lamorel' })).toThrow(
      /^Expected one of 'separate', 'joint', 'lamorel' for tokenization but received "Lamorel" of type string$/);
  });

  const bad: [PpoConfigInput | Record<string, unknown>, RegExp][] = [
    [{ numEnvs: 0 }, /^Expected a positive integer for numEnvs but received 0 of type number$/],
    [{ valueHidden: [64, 0] }, /layer widths .* for valueHidden but received \[64, 0\] of type array/],
    [{ valueHidden: 64 }, /layer widths .* for valueHidden but received 64 of type number/],
    [{ numSteps: 2.5 }, /positive integer for numSteps but received 2.5/],
    [{ updateEpochs: '4' }, /positive integer for updateEpochs but received "4" of type string/],
    [{ minibatchSize: 2000 }, /at most the batch size numEnvs × numSteps = 1280 for minibatchSize but received 2000/],
    [{ learningRate: 0 }, /positive finite number for learningRate/],
    [{ learningRate: NaN }, /learningRate but received NaN/],
    [{ adamBetas: [0.9] }, /pair \[beta1, beta2\] for adamBetas/],
    [{ adamBetas: [0.9, 1] }, /\[0, 1\) for adamBetas\[1\] but received 1/],
    [{ adamEps: -1 }, /adamEps/],
    [{ weightDecay: -0.1 }, /non-negative finite number for weightDecay/],
    [{ gamma: 1.01 }, /\[0, 1\] for gamma/],
    [{ gaeLambda: -0.5 }, /gaeLambda/],
    [{ clipCoef: 0 }, /clipCoef/],
    [{ clipVloss: 1 }, /a boolean for clipVloss but received 1 of type number/],
    [{ entCoef: Infinity }, /entCoef/],
    [{ vfCoef: -1 }, /vfCoef/],
    [{ maxGradNorm: 0 }, /positive number \(Infinity disables clipping\) for maxGradNorm/],
    [{ rewardScale: 0 }, /rewardScale/],
    [{ normAdv: 'no' }, /boolean for normAdv/],
    [{ memory: null }, /object \{ observations, actions \} for memory/],
    [{ memory: { observations: 0 } }, /positive integer for memory.observations/],
    [{ memory: { observations: 3, actions: 3 } }, /integer in \[0, 2\] \(memory.observations − 1\) for memory.actions but received 3/],
    [{ memory: { obs: 3 } }, /'observations' or 'actions' for memory key but received "obs"/],
    [{ level: 'BabyAI-Nope-v0' }, /BabyAI-GoToLocal-v0.* for level but received "BabyAI-Nope-v0"/],
    [{ totalFrames: 1.5e6 + 0.5 }, /totalFrames/],
    [{ seed: -1 }, /non-negative safe integer for seed/],
    [{ numEnv: 4 }, /for PPO config key but received "numEnv"/],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      let err: unknown;
      try { resolvePpoConfig(input as PpoConfigInput); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(GlamError);
      expect((err as GlamError).code).toBe('InvalidArgument');
      expect((err as GlamError).message).toMatch(message);
      expect((err as GlamError).message).toMatch(/^Expected .* for .* but received /);
    });
  }

  it('rejects an unknown preset and a non-object input', () => {
    expect(() => presetFor('huge' as 'glam')).toThrow(/Expected 'glam' or 'small' for preset but received "huge"/);
    expect(() => resolvePpoConfig([] as unknown as PpoConfigInput)).toThrow(/an object for PPO config/);
  });
});
