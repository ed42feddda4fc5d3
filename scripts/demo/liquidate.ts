/**
 * The demo's keeper step: liquidate every unit (isolated position or cross account) that is below maintenance.
 *
 * This is the one place to switch to the keeper bot (scripts/keeper/): keep a `Keeper` in `LiquidationState`
 * (created in `newLiquidationState` with the keeper's client) and call its `runOnce()` in `liquidateUnhealthy`. The
 * demo reports liquidations from the engine's events in the blocks of each step, not from what this function does,
 * so nothing else has to change.
 */
import {
  PositionIndex,
  liquidatableUnits,
  readHealth,
  scanPositionEvents,
  type PerpClient,
} from "../../sdk/src/client.js";

/** `PerpEngine.MAX_BATCH`: most entries one `liquidateMany` takes. */
const MAX_BATCH = 100;

/** The keeper's view of the open positions, kept across calls (rebuilt from the deployment block on first use). */
export interface LiquidationState {
  readonly keeper: PerpClient;
  readonly index: PositionIndex;
}

export async function newLiquidationState(keeper: PerpClient): Promise<LiquidationState> {
  return { keeper, index: new PositionIndex() };
}

/**
 * Brings the position index up to the latest block (the SDK's event scan), reads every open position's health at
 * that block through `PerpLens` (`readHealth`), and liquidates the liquidatable units (`liquidatableUnits`) with
 * `liquidateMany`, at most `MAX_BATCH` per transaction (the keeper's account receives the rewards).
 */
export async function liquidateUnhealthy(state: LiquidationState): Promise<void> {
  const { keeper, index } = state;
  const latest = await keeper.provider.getBlockNumber();
  const from = Math.max(index.lastBlock + 1, keeper.deployment.deploymentBlock);
  if (from <= latest) {
    index.apply(await scanPositionEvents(keeper, from, latest));
    index.lastBlock = latest;
  }
  const units = liquidatableUnits(await readHealth(keeper, index.positions(), 500, latest));
  for (let i = 0; i < units.length; i += MAX_BATCH) {
    await keeper.liquidateMany(units.slice(i, i + MAX_BATCH));
  }
}
