import type { TransactionReceipt } from "ethers";

import { InvalidRequestError, withPerpErrors, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { accountOf, sendCall, type ClientContext } from "../../client/context.js";
import { latestBlock } from "../../transport/latestBlock.js";
import type { TokenUnits } from "../../units.js";

/** Which side of the vault a request is on. */
export type LpRequestKind = "deposit" | "redeem";

export interface LpPendingRequest {
  /** Assets (deposit, token units) or shares (redeem, 12 decimals) waiting to be settled; 0 = none. */
  readonly amount: bigint;
  /** Keeper fee escrowed with the request (token units). */
  readonly fee: TokenUnits;
  /** When it was made (unix seconds; 0 = none). */
  readonly requestedAt: bigint;
  /** From when a keeper may settle it. */
  readonly settleableAt: bigint;
  /** From when the controller may cancel it. */
  readonly cancellableAt: bigint;
  /** True if it can be settled at the latest block. */
  readonly due: boolean;
}
export interface LpClaimable {
  /** Token units. */
  readonly assets: TokenUnits;
  readonly shares: bigint;
}
export interface GetLpRequestsReturnType {
  readonly pendingDeposit: LpPendingRequest;
  readonly pendingRedeem: LpPendingRequest;
  /** Settled deposit: shares waiting for `lpClaim({ kind: "deposit" })`. */
  readonly claimableDeposit: LpClaimable;
  /** Settled redemption: assets waiting for `lpClaim({ kind: "redeem" })`. */
  readonly claimableRedeem: LpClaimable;
  readonly settleDelay: bigint;
  readonly keeperFee: TokenUnits;
}
export type LpActionErrorType = InvalidRequestError | NoSignerError | PerpContractError | PerpTransportError;

/**
 * An LP's asynchronous requests (ERC-7540): what is pending, when it can be settled or cancelled, and what is
 * claimable. Default account: the signer.
 * @example const r = await getLpRequests(client); if (r.claimableDeposit.shares > 0n) await lpClaim(client, { kind: "deposit" });
 */
export async function getLpRequests(ctx: ClientContext, parameters: { readonly account?: string } = {}): Promise<GetLpRequestsReturnType> {
  const account = await accountOf(ctx, parameters.account);
  const block = await withPerpErrors(() => latestBlock(ctx.provider));
  const blockTag = block.number;
  const [pd, pr, cd, cr, settleDelay, keeperFee, cancelDelay] = await withPerpErrors(() =>
    Promise.all([
      ctx.vault.pendingDeposit(account, { blockTag }),
      ctx.vault.pendingRedeem(account, { blockTag }),
      ctx.vault.claimableDeposit(account, { blockTag }),
      ctx.vault.claimableRedeem(account, { blockTag }),
      ctx.vault.lpSettleDelay({ blockTag }),
      ctx.vault.lpKeeperFee({ blockTag }),
      ctx.vault.CANCEL_DELAY({ blockTag }),
    ]),
  );
  const pending = (r: { amount: bigint; fee: bigint; requestedAt: bigint }): LpPendingRequest => ({
    amount: r.amount,
    fee: r.fee as TokenUnits,
    requestedAt: r.requestedAt,
    settleableAt: r.requestedAt === 0n ? 0n : r.requestedAt + settleDelay,
    cancellableAt: r.requestedAt === 0n ? 0n : r.requestedAt + cancelDelay,
    due: r.requestedAt !== 0n && block.timestamp >= r.requestedAt + settleDelay,
  });
  return {
    pendingDeposit: pending(pd),
    pendingRedeem: pending(pr),
    claimableDeposit: { assets: cd.assets as TokenUnits, shares: cd.shares },
    claimableRedeem: { assets: cr.assets as TokenUnits, shares: cr.shares },
    settleDelay,
    keeperFee: keeperFee as TokenUnits,
  };
}

/**
 * Settles `controller`'s due request (any caller; the escrowed keeper fee is paid to it). Default controller: the
 * signer. `SettleTooEarly` before `lpSettleDelay` has passed.
 * @example await lpSettle(client, { kind: "deposit", controller: "0x…" })
 */
export async function lpSettle(ctx: ClientContext, parameters: { readonly kind: LpRequestKind; readonly controller?: string }): Promise<TransactionReceipt> {
  const controller = await accountOf(ctx, parameters.controller);
  const call = parameters.kind === "deposit" ? ctx.vault.settleDeposit : ctx.vault.settleRedeem;
  return sendCall(ctx, call.populateTransaction(controller));
}

/**
 * Claims everything claimable on one side: the shares of a settled deposit (to the signer; starts its cooldown) or
 * the USDC of a settled redemption (to `receiver`, default the signer). `InvalidRequestError` if nothing is.
 * @example await lpClaim(client, { kind: "redeem" })
 */
export async function lpClaim(ctx: ClientContext, parameters: { readonly kind: LpRequestKind; readonly receiver?: string }): Promise<TransactionReceipt> {
  const account = await accountOf(ctx);
  if (parameters.kind === "deposit") {
    const c = await withPerpErrors(() => ctx.vault.claimableDeposit(account));
    if (c.assets === 0n) throw new InvalidRequestError("no settled deposit to claim");
    return sendCall(ctx, ctx.vault["deposit(uint256,address,address)"].populateTransaction(c.assets, account, account));
  }
  const c = await withPerpErrors(() => ctx.vault.claimableRedeem(account));
  if (c.shares === 0n) throw new InvalidRequestError("no settled redemption to claim");
  return sendCall(ctx, ctx.vault.redeem.populateTransaction(c.shares, parameters.receiver ?? account, account));
}

/**
 * Cancels the signer's request still pending `CANCEL_DELAY` (1 h) after it was made: assets or shares and the fee
 * come back. `CancelTooEarly` before.
 * @example await lpCancel(client, { kind: "deposit" })
 */
export async function lpCancel(ctx: ClientContext, parameters: { readonly kind: LpRequestKind }): Promise<TransactionReceipt> {
  const account = await accountOf(ctx);
  const call = parameters.kind === "deposit" ? ctx.vault.cancelDepositRequest : ctx.vault.cancelRedeemRequest;
  return sendCall(ctx, call.populateTransaction(account));
}
