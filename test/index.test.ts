// The package's entry points export what the README's examples use.
import { describe, expect, it } from 'vitest';

import * as glam from '../lib/index.js';
import * as ppo from '../lib/ppo/index.js';

describe('public API', () => {
  it('exports the Policy, the PPO trainer, evaluation and the config from the main entry', () => {
    for (const name of ['Policy', 'GlamError', 'trainPpo', 'evaluate', 'wilson', 'resolvePpoConfig', 'presetFor'] as const) {
      expect(typeof glam[name]).toBe('function');
    }
    expect(glam.resolvePpoConfig({}, 'small').numUpdates).toBe(60);
    expect(glam.wilson(5, 10)[0]).toBeCloseTo(0.2366, 3); // Wilson 95% interval of 5/10: [0.2366, 0.7634]
  });
  it("exports the pure PPO parts from 'glam/ppo'", () => {
    for (const name of ['computeGae', 'ppoLoss', 'RolloutBuffer', 'MetricsAccumulator', 'JsonlWriter', 'TensorBoardWriter'] as const) {
      expect(typeof ppo[name]).toBe('function');
    }
  });
});
