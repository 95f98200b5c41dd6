// BabyAI's expert bot and its demonstrations for behaviour cloning.
// defines (re-exported): Bot (bot.ts), the subgoal records (subgoal.ts). Its demonstrations as GLAM
// prompts (collectDemos) are the agent's: lib/agent/demos.ts.

export { Bot } from './bot.js';
export { subgoalToString, type Subgoal, type Target, type GoReason, type OpenReason } from './subgoal.js';
