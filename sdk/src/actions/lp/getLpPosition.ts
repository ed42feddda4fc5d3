import { withPerpErrors, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { accountOf, type ClientContext } from "../../client/context.js";
import { latestBlock } from "../../transport/latestBlock.js";
import type { TokenUnits } from "../../units.js";

export interface GetLpPositionParameters {
  /** Default: the signer. */
  readonly account?: string;
}
/** An LP's stake in the vault and its cooldown. */
export interface GetLpPositionReturnType {
  /** Vault shares held (12 decimals: USDC's 6 plus the vault's offset of 6). */
  readonly shares: bigint;
  /** What the shares are worth now (`convertToAssets`), token units. */
  readonly assets: TokenUnits;
  /** What a redeem request (`lpWithdraw`) may ask for now (`maxWithdraw`: 0 during the cooldown, capped by the vault's free cash). */
  readonly maxWithdraw: TokenUnits;
  /** When the shares unlock: the last deposit's time plus the vault's cooldown (unix seconds; 0 if never deposited). */
  readonly cooldownEndsAt: bigint;
  /** True while the shares are locked (the latest block is before `cooldownEndsAt`). */
  readonly locked: boolean;
  /** Seconds of cooldown left at the latest block (0 when unlocked). */
  readonly secondsLeft: bigint;
  /** The vault's cooldown after each deposit, seconds. */
  readonly cooldown: bigint;
  /** The block every value above was read at (the value of shares moves with the NAV from block to block). */
  readonly blockNumber: number;
}
export type GetLpPositionErrorType = NoSignerError | PerpContractError | PerpTransportError;

/**
 * An LP's shares, their value, what can be withdrawn now, and when the deposit cooldown ends: shares are locked
 * (neither withdrawn nor transferred) for `lpCooldown` seconds after each deposit.
 * @example
 * ```ts
 * const lp = await getLpPosition(client);
 * if (lp.locked) console.log(`withdrawable from ${new Date(Number(lp.cooldownEndsAt) * 1000).toISOString()}`);
 * ```
 */
export async function getLpPosition(ctx: ClientContext, parameters: GetLpPositionParameters = {}): Promise<GetLpPositionReturnType> {
  const account = await accountOf(ctx, parameters.account);
  const block = await withPerpErrors(() => latestBlock(ctx.provider));
  const blockTag = block.number;
  const [shares, lastDepositAt, cooldown, maxWithdraw] = await withPerpErrors(() =>
    Promise.all([
      ctx.vault.balanceOf(account, { blockTag }),
      ctx.vault.lastDepositAt(account, { blockTag }),
      ctx.vault.lpCooldown({ blockTag }),
      ctx.vault.maxWithdraw(account, { blockTag }),
    ]),
  );
  const assets = await withPerpErrors(() => ctx.vault.convertToAssets(shares, { blockTag }));
  const cooldownEndsAt = lastDepositAt === 0n ? 0n : lastDepositAt + cooldown;
  const locked = block.timestamp < cooldownEndsAt;
  return {
    shares,
    assets: assets as TokenUnits,
    maxWithdraw: maxWithdraw as TokenUnits,
    cooldownEndsAt,
    locked,
    secondsLeft: locked ? cooldownEndsAt - block.timestamp : 0n,
    cooldown,
    blockNumber: blockTag,
  };
}
