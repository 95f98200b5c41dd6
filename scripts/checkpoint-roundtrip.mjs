#!/usr/bin/env node
// Writes glam checkpoints for the check by transformers / peft (scripts/fixtures/check_checkpoint.py):
// loads MODEL_DIR, trains a few AdamW steps (full or LoRA) so the weights move, saves to OUT_DIR, and
// writes OUT_DIR/glam_check.json with glam's log-probs and values for a few prompts.
// Usage: npm run build && node scripts/checkpoint-roundtrip.mjs MODEL_DIR OUT_DIR [full|lora]
//        scripts/fixtures/.venv/bin/python scripts/fixtures/check_checkpoint.py --check OUT_DIR
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Policy } from '../dist/lib/index.js';

const [model, out, mode = 'full'] = process.argv.slice(2);
if (!model || !out) {
  console.error('usage: node scripts/checkpoint-roundtrip.mjs MODEL_DIR OUT_DIR [full|lora]');
  process.exit(2);
}
const prompts = ['Goal of the agent: go to the red ball\nObservation 0: You see a wall 2 steps forward\nAction 0: ', 'Goal of the agent: open the door'];
const candidates = [['turn left', 'turn right', 'go forward'], ['toggle', 'pick up']];
const policy = await Policy.load(model, { threads: 2 });
policy.enableTraining(mode === 'lora' ? { mode, rank: 4, alpha: 8, seed: 3 } : { mode });
for (let s = 0; s < 3; ++s) {
  await policy.zeroGrad();
  const f = await policy.forward({ prompts, candidates }, { grad: true });
  await policy.backward(f.handle, [1, -1, 0.5, -0.5, 1], [1, -1]);
  await policy.step({ lr: 1e-2, maxGradNorm: 1 });
}
await policy.save(out);
const r = await policy.score({ prompts, candidates });
writeFileSync(join(out, 'glam_check.json'), JSON.stringify({ prompts, candidates, logprobs: Array.from(r.logprobs), values: Array.from(r.values) }));
console.log(`saved ${mode} checkpoint of ${model} to ${out}; logprobs ${Array.from(r.logprobs, (x) => x.toFixed(4)).join(' ')}`);
await policy.dispose();
