// bench/ppo-tokens: what keeping the rollout's token ids saves in a PPO update. One rollout of GLAM's
// shape (32 envs x 40 steps, GLAM's 3-observation prompts, 6 candidates, BabyAI-MixedTrainLocal) is
// collected with the built-in model; then the update's forward passes (4 epochs x 20 minibatches of 64)
// are timed both ways, alternating minibatch by minibatch so load on a shared machine hits both alike:
//   text (before): policy.forward({ prompts, candidates }) — tokenizes and packs every minibatch again
//   ids  (after):  policy.forward({ tokens })              — the rollout's ids (what trainPpo now does)
// Each forward is followed by a backward of zeros to release its activations (not timed). Also timed
// alone: tokenizing a minibatch (tokenizeBatch), the work the ids remove.
// Usage: npm run build && node dist/bench/ppo-tokens.js [--threads N] [--model DIR] [--steps 40]
import { availableParallelism } from 'node:os';

import { GLAM_ACTIONS } from '../lib/agent/actions.js';
import { LlmAgent } from '../lib/agent/llm-agent.js';
import { tokenizeBatch } from '../lib/policy/batch.js';
import { Policy } from '../lib/policy/policy.js';
import { RolloutBuffer, shuffledMinibatches } from '../lib/ppo/buffer.js';
import { presetFor } from '../lib/ppo/presets.js';
import { TokenScorer } from '../lib/ppo/token-scorer.js';
import { Rng } from '../lib/util/rng.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

async function main(): Promise<void> {
  const threads = Number(arg('threads', String(availableParallelism())));
  const steps = Number(arg('steps', '40'));
  const model = process.argv.includes('--model') ? arg('model', '') : undefined;
  const cfg = presetFor('glam');
  const policy = await Policy.load(model, { threads, device: 'cpu' });
  policy.enableTraining({ mode: 'full' });
  const agent = new LlmAgent(new TokenScorer(policy), { level: cfg.level, numEnvs: cfg.numEnvs, seed: 1, seedScheme: 'glam' }, GLAM_ACTIONS, cfg.memory);
  const buffer = new RolloutBuffer({ numSteps: steps, numEnvs: cfg.numEnvs, rewardScale: cfg.rewardScale });
  const rng = new Rng(1);
  for (let t = 0; t < steps; ++t) {
    const s = await agent.act(rng, false);
    buffer.storeStep(t, { ...s, dones: new Uint8Array(cfg.numEnvs) });
    buffer.storeRewards(t, agent.step(s.actions).rewards);
  }
  const zeros = new Float64Array(buffer.size);
  const sec = { text: 0, ids: 0, tokenize: 0 };
  let n = 0;
  const timed = async <T>(k: keyof typeof sec, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    sec[k] += (performance.now() - t0) / 1000;
    return r;
  };
  console.log(`glam bench/ppo-tokens: ${cfg.numEnvs} envs x ${steps} steps = ${buffer.size} transitions, ${cfg.updateEpochs} epochs x minibatch ` +
    `${cfg.minibatchSize}, ${model ?? 'the built-in model'}, ${threads} threads; forward with text vs with the rollout's ids, alternating`);
  for (let epoch = 0; epoch < cfg.updateEpochs; ++epoch) {
    for (const idx of shuffledMinibatches(buffer.size, cfg.minibatchSize, rng)) {
      const mb = buffer.minibatch(idx, zeros, zeros);
      const candidates = mb.candidates.map((c) => [...c]);
      await timed('tokenize', () => tokenizeBatch(policy.tokenizer, mb.prompts, candidates));
      const order = n++ % 2 === 0 ? (['text', 'ids'] as const) : (['ids', 'text'] as const);
      for (const k of order) {
        const f = await timed(k, () => policy.forward(k === 'text' ? { prompts: mb.prompts, candidates } : { tokens: mb.ids! }, { grad: true }));
        await policy.backward(f.handle, new Float64Array(f.logprobs.length), new Float64Array(f.values.length));
      }
    }
  }
  await policy.dispose();
  console.log('\n| forwards | text (before) s | ids (after) s | saved s | saved per forward ms | tokenize alone s |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| ${n} | ${sec.text.toFixed(2)} | ${sec.ids.toFixed(2)} | ${(sec.text - sec.ids).toFixed(2)} | ${((1000 * (sec.text - sec.ids)) / n).toFixed(1)} | ${sec.tokenize.toFixed(2)} |`);
  console.log(`forward time ratio text/ids: ${(sec.text / sec.ids).toFixed(3)}x`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
