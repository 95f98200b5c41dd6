// BabyAI's expert bot and its demonstrations for behaviour cloning.
// defines (re-exported): Bot (bot.ts), collectDemos / writeDemosJsonl / demoToJsonLine (demos.ts),
// the subgoal records (subgoal.ts).

export { Bot } from './bot.js';
export { collectDemos, demoToJsonLine, writeDemosJsonl, type Demo, type DemoOptions, type DemoSummary } from './demos.js';
export { subgoalToString, type Subgoal, type Target, type GoReason, type OpenReason } from './subgoal.js';
