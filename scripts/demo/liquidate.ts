/**
 * The demo's keeper step: the keeper bot (scripts/keeper/) runs one scan-and-liquidate pass after each price step.
 * The demo reports liquidations from the engine's events in the blocks of each step, so it shows whatever the keeper
 * did (or another keeper on the same node).
 */
import type { PerpClient } from "@perp/sdk";
import { Keeper } from "../keeper/keeper.js";

/** The keeper, kept across steps: its position index is rebuilt from the deployment block once, then extended. */
export interface LiquidationState {
  readonly keeper: Keeper;
}

export async function newLiquidationState(keeper: PerpClient): Promise<LiquidationState> {
  return { keeper: await Keeper.create({ client: keeper }) };
}

/** One keeper pass: index up to the latest block, health through `PerpLens`, `liquidateMany` of what is liquidatable. */
export async function liquidateUnhealthy(state: LiquidationState): Promise<void> {
  const summary = await state.keeper.runOnce();
  if (summary.failed > 0) throw new Error(`the keeper's run failed: ${summary.errors.join("; ")}`);
}
