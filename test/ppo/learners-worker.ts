// One learner of test/ppo/learners.test.ts's MPI checks, run bundled (test/cli/train-bundle.ts) as
// `mpirun -np 2 node <bundle> OUT MODEL mpi`, or alone as `node <bundle> OUT MODEL single`: the same
// code with SINGLE_LEARNER fed the whole batch. It writes, as raw float32 (names sorted):
//   OUT/grad-<tag>.bin       the flat gradient of one BC minibatch of 8 demo rows after averageGradients
//                            (each of 2 learners: its 4 rows; alone: all 8)
//   OUT/bc-<tag>.bin         every parameter after one trainBc update (2 minibatches of 8 rows)
//   OUT/ppo-<tag>.bin        every parameter after one trainPpo update (4 envs x 4 steps, minibatch 8)
//   OUT/init-<tag>.bin       every parameter before training
// with tag rank<r> or single.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { GLAM_ACTIONS } from '../../lib/agent/actions.js';
import { Policy } from '../../lib/policy/policy.js';
import { BC_DEFAULTS, bcLoss, loadDemos, trainBc } from '../../lib/ppo/bc.js';
import { resolvePpoConfig } from '../../lib/ppo/config.js';
import { SINGLE_LEARNER, mpiLearners, type Learners } from '../../lib/ppo/learners.js';
import { trainPpo } from '../../lib/ppo/trainer.js';

const [out, model, mode] = process.argv.slice(2) as [string, string, 'mpi' | 'single'];
const L: Learners = mode === 'mpi' ? mpiLearners({ expected: 2 }) : SINGLE_LEARNER;
const tag = mode === 'mpi' ? `rank${L.rank}` : 'single';
const cfg = resolvePpoConfig({ level: 'BabyAI-GoToRedBallNoDists-v0', numEnvs: 4, numSteps: 4, minibatchSize: 8, updateEpochs: 1, totalFrames: 16, seed: 3 }, 'small');

async function fresh(): Promise<Policy> {
  const p = await Policy.load(model, { threads: 1, device: 'cpu', valueHidden: [...cfg.valueHidden] });
  p.enableTraining({ mode: 'full' });
  return p;
}

function params(p: Policy): Float32Array {
  const t = { ...p.exportTensors('params', 'model'), ...p.exportTensors('params', 'value_head') } as Record<string, { data: Float32Array }>;
  const parts = Object.keys(t).sort().map((k) => t[k]!.data);
  const all = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of parts) { all.set(a, o); o += a.length; }
  return all;
}

const write = (name: string, a: Float32Array) => writeFileSync(join(out, `${name}-${tag}.bin`), Buffer.from(a.buffer, a.byteOffset, a.byteLength));

write('init', params(await fresh()));
const demos = loadDemos(cfg.level, { episodes: 4, seed: 0, memory: cfg.memory });
// --- one minibatch's gradient: this learner's share of rows 0..7
{
  const p = await fresh();
  const share = 8 / L.size;
  const rows = Array.from({ length: share }, (_, i) => L.rank * share + i);
  const f = await p.forward({ prompts: rows.map((r) => demos.prompts[r]!), candidates: rows.map(() => [...GLAM_ACTIONS]) }, { grad: true });
  const l = bcLoss(f.logprobs, f.candOffset, rows.map((r) => demos.actions[r]!));
  await p.zeroGrad();
  await p.backward(f.handle, l.dLogprobs, new Float64Array(rows.length));
  await L.averageGradients(p);
  write('grad', await p.gradients());
  await p.dispose();
}
// --- one BC update, then one PPO update, each from the same initial policy
{
  const p = await fresh();
  await trainBc(p, cfg, { ...BC_DEFAULTS, demoEpisodes: 4, evalEvery: 1000, evalEpisodes: 2 }, { demos, learners: L });
  write('bc', params(p));
  await p.dispose();
}
{
  const p = await fresh();
  await trainPpo(p, cfg, { learners: L });
  write('ppo', params(p));
  await p.dispose();
}
L.close();
