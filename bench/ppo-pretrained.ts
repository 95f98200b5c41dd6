// bench/ppo-pretrained: what the 'pretrained' preset does to a real pretrained model (issue 11). A few
// PPO updates of SmolLM2-135M on BabyAI-GoToRedBallNoDists with the preset glam chooses for it (LoRA
// rank 8, lr 1e-5, target_kl 0.02), a CPU-sized batch; per update it prints:
//   approx_kl, clipfrac, gradient steps (target_kl may end the epochs early);
//   the chosen actions' probabilities on that update's own rollout, before and after the update, split
//   by the sign of their advantage (PPO should raise pi(a_t) where A_t > 0 and lower it where A_t < 0),
//   and the mean of sign(A_t) * (log pi_after(a_t) - log pi_before(a_t)), positive when it does;
//   log p(" Paris" | "The capital of France is"), a completion unrelated to the task, which should stay put.
// With --contrast, the same measured for one update of what issue 11 saw: the small preset's lr 3e-4 with
// full fine-tuning. --norm-adv normalises advantages per minibatch (CleanRL's default; GLAM's is off):
// with a fresh value head and a sparse reward nearly every advantage of a short rollout is negative,
// and normalising gives the update chosen actions to raise as well as to lower.
// Not a speed bench (no peer): an experiment, kept here to be rerun. Slow on a CPU (135M parameters).
// Usage: npm run build && node dist/bench/ppo-pretrained.js [--model /work/cache/smollm2-135m] [--updates 3]
//        [--envs 4] [--steps 4] [--epochs 2] [--threads N] [--contrast] [--norm-adv]
import { availableParallelism } from 'node:os';

import { Policy } from '../lib/policy/policy.js';
import type { TrainingOptions } from '../lib/policy/training.js';
import { resolvePpoConfig } from '../lib/ppo/config.js';
import { PRESET_TRAINING, type PpoPresetName } from '../lib/ppo/presets.js';
import { presetForModel } from '../lib/ppo/preset-choice.js';
import { trainPpo } from '../lib/ppo/trainer.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const PARIS = { prompts: ['The capital of France is'], candidates: [[' Paris']] };

async function experiment(model: string, label: string, preset: PpoPresetName, training: TrainingOptions, over: { learningRate?: number; updates: number }): Promise<void> {
  const envs = Number(arg('envs', '4'));
  const steps = Number(arg('steps', '4'));
  const batch = envs * steps;
  const cfg = resolvePpoConfig({
    level: 'BabyAI-GoToRedBallNoDists-v0', numEnvs: envs, numSteps: steps, updateEpochs: Number(arg('epochs', '2')), minibatchSize: Math.max(1, batch / 2),
    totalFrames: over.updates * batch, memory: { observations: 1, actions: 0 }, seed: 1, normAdv: process.argv.includes('--norm-adv'), ...(over.learningRate ? { learningRate: over.learningRate } : {}),
  }, preset);
  const policy = await Policy.load(model, { threads: Number(arg('threads', String(availableParallelism()))), device: 'cpu', valueHidden: [...cfg.valueHidden] });
  policy.enableTraining(training);
  const paris = async () => (await policy.score(PARIS)).logprobs[0]!;
  const p0 = await paris();
  console.log(`\n${label}: preset ${preset}, ${training.mode === 'lora' ? `LoRA rank ${training.rank}` : 'full fine-tuning'}, lr ${cfg.learningRate}, ` +
    `target_kl ${cfg.targetKl ?? 'none'}, normAdv ${cfg.normAdv}, ${envs} envs x ${steps} steps, ${cfg.updateEpochs} epochs x minibatch ${cfg.minibatchSize}; log p(" Paris" | "The capital of France is") = ${p0.toFixed(4)}`);
  console.log('| update | approx_kl | clipfrac | gradient steps | mean pi(a) A>0 before -> after (n) | mean pi(a) A<0 before -> after (n) | mean sign(A) dlog pi(a) | log p(" Paris") | s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  let probe: { ids: { prompts: number[][]; candidates: number[][][] }; actions: Int32Array; adv: Float64Array; before: Float64Array } | undefined;
  const chosen = async (ids: { prompts: number[][]; candidates: number[][][] }, actions: Int32Array) => {
    const r = await policy.scoreTokens(ids);
    return Float64Array.from(actions, (a, t) => r.probs[r.candOffset[t]! + a]!);
  };
  let t0 = performance.now();
  await trainPpo(policy, cfg, {
    onRollout: async ({ buffer, advantages }) => {
      const ids = { prompts: buffer.promptIds.slice(), candidates: buffer.candidateIds.slice() };
      // with normAdv the loss sees A minus its minibatch's mean: split by A minus the batch's mean (random halves' means are near it)
      const mean = cfg.normAdv ? advantages.reduce((a, b) => a + b, 0) / advantages.length : 0;
      probe = { ids, actions: buffer.actions.slice(), adv: advantages.map((a) => a - mean), before: await chosen(ids, buffer.actions) };
    },
    onUpdate: async (r) => {
      const after = await chosen(probe!.ids, probe!.actions);
      const split = (sign: number) => {
        let b = 0, a = 0, n = 0;
        probe!.adv.forEach((A, t) => { if (Math.sign(A) === sign) { b += probe!.before[t]!; a += after[t]!; n++; } });
        return n ? `${(b / n).toFixed(4)} -> ${(a / n).toFixed(4)} (${n})` : '-';
      };
      const m = r.metrics;
      let toward = 0;
      probe!.adv.forEach((A, t) => { toward += (Math.sign(A) * Math.log(after[t]! / probe!.before[t]!)) / after.length; });
      console.log(`| ${r.update} | ${(m['losses/approx_kl'] ?? NaN).toFixed(5)} | ${(m['losses/clipfrac'] ?? NaN).toFixed(3)} | ${r.gradientSteps} | ${split(1)} | ${split(-1)} | ${toward.toExponential(2)} | ` +
        `${(await paris()).toFixed(4)} | ${((performance.now() - t0) / 1000).toFixed(0)} |`);
      t0 = performance.now();
    },
  });
  console.log(`${label}: log p(" Paris") ${p0.toFixed(4)} -> ${(await paris()).toFixed(4)}`);
  await policy.dispose();
}

async function main(): Promise<void> {
  const model = arg('model', '/work/cache/smollm2-135m');
  const choice = presetForModel(model);
  console.log(`glam bench/ppo-pretrained: ${model}: glam train would choose preset ${choice.preset} (${choice.reason})`);
  await experiment(model, 'chosen preset', choice.preset, { ...PRESET_TRAINING[choice.preset] }, { updates: Number(arg('updates', '3')) });
  if (process.argv.includes('--contrast')) await experiment(model, "contrast (issue 11's run)", choice.preset, { mode: 'full' }, { learningRate: 3e-4, updates: 1 });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
