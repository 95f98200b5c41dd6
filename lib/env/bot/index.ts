// BabyAI's expert bot and its demonstrations for behaviour cloning.
// defines (re-exported): Bot (bot.ts), collectDemos / writeDemosJsonl (demos.ts), subgoal records (subgoal.ts).

export { Bot } from './bot.js';
export { subgoalToString, type Subgoal, type Target, type GoReason, type OpenReason } from './subgoal.js';
