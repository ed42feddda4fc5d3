/**
 * What an action needs from a client: the deployment, the bindings, the runner and the send policy. `PerpClient`
 * is one; a tool can build its own (`createClientContext`) and call the actions directly, viem style.
 *
 * @packageDocumentation
 */
import type { ContractRunner, ContractTransaction, Provider, Signer, TransactionReceipt } from "ethers";

import type { Deployment } from "../deployments.js";
import type { PriceSource, PriceUpdateBundle } from "../prices/source.js";
import { InvalidRequestError, NoSignerError, PerpError, withPerpErrors } from "../errors.js";
import {
  ICollateralToken__factory,
  IOrderBook__factory,
  type IOrderBook,
  LiquidityVault__factory,
  PerpEngine__factory,
  PerpLens__factory,
  type ICollateralToken,
  type LiquidityVault,
  type PerpEngine,
  type PerpLens,
} from "../generated/index.js";
import { latestBlock } from "../transport/latestBlock.js";
import { TransactionSender, type SendPolicy } from "../transport/sendTransaction.js";
import { parseDecimal, type TokenAmount, type TokenUnits } from "../units.js";

/** One price update of some feeds: Pyth update data to pass on chain (`bytes[]`), and the prices it carries. */
export type PriceUpdate = PriceUpdateBundle;

/**
 * Where the SDK gets Pyth update data to settle its own orders (`settleOrder`): a `PriceSource` of
 * `@perp/sdk/prices` (`HermesPriceSource` on Hermes, or on the local price service of a dev chain).
 */
export type OrderPriceSource = PriceSource;

/** The state every action reads: one deployment, one runner. */
export interface ClientContext {
  readonly deployment: Deployment;
  readonly engine: PerpEngine;
  readonly vault: LiquidityVault;
  readonly lens: PerpLens;
  readonly token: ICollateralToken;
  readonly provider: Provider;
  readonly signer: Signer | undefined;
  /** Sends the client's transactions (undefined for a read-only client). */
  readonly sender: TransactionSender | undefined;
  /** Each market's oracle unit (WAD), read once. */
  readonly priceUnits: Map<number, bigint>;
  /** The order book, when the deployment has one (v2). */
  readonly orderBook?: IOrderBook;
  /** Price source used to settle the client's own orders (`settle: "self"`, `settleOrder`). */
  readonly priceSource?: OrderPriceSource;
}

/** Options of `createClientContext` beyond the send policy. */
export interface ClientContextOptions {
  readonly priceSource?: OrderPriceSource;
}

/**
 * Builds the context of a deployment and runner (no network access).
 * @example const ctx = createClientContext(deployment, wallet, { signing: "auto" })
 */
export function createClientContext(
  deployment: Deployment,
  runner: ContractRunner,
  policy?: SendPolicy,
  options: ClientContextOptions = {},
): ClientContext {
  const provider = runner.provider;
  if (!provider) throw new PerpError("the runner has no provider");
  const signer = "getAddress" in runner ? (runner as Signer) : undefined;
  return {
    deployment,
    engine: PerpEngine__factory.connect(deployment.contracts.PerpEngine, runner),
    vault: LiquidityVault__factory.connect(deployment.contracts.LiquidityVault, runner),
    lens: PerpLens__factory.connect(deployment.contracts.PerpLens, runner),
    token: ICollateralToken__factory.connect(deployment.contracts.CollateralToken, runner),
    provider,
    signer,
    sender: signer ? new TransactionSender(signer, { provider, ...policy }) : undefined,
    priceUnits: new Map(),
    orderBook: deployment.contracts.OrderBook ? IOrderBook__factory.connect(deployment.contracts.OrderBook, runner) : undefined,
    priceSource: options.priceSource,
  };
}

/** The order book, or an `InvalidRequestError` saying the deployment has none. */
export function requireOrderBook(ctx: Pick<ClientContext, "orderBook" | "deployment">): IOrderBook {
  if (!ctx.orderBook) throw new InvalidRequestError(`the deployment on "${ctx.deployment.network}" has no order book (contracts.OrderBook)`);
  return ctx.orderBook;
}

/** The signer, or `NoSignerError`. */
export function requireSigner(ctx: Pick<ClientContext, "signer">): Signer {
  if (!ctx.signer) throw new NoSignerError();
  return ctx.signer;
}

/** `trader`, or the signer's address. */
export async function accountOf(ctx: Pick<ClientContext, "signer">, trader?: string): Promise<string> {
  if (trader) return trader;
  return requireSigner(ctx).getAddress();
}

/** Sends a populated call under the client's send policy and waits for it; failures are `PerpError`s. */
export async function sendCall(ctx: Pick<ClientContext, "sender">, populated: Promise<ContractTransaction>): Promise<TransactionReceipt> {
  if (!ctx.sender) throw new NoSignerError();
  const sender = ctx.sender;
  return withPerpErrors(async () => sender.send(await populated));
}

/** A token amount (decimal string of whole tokens, or units) as positive token units. */
export async function toTokenUnits(ctx: Pick<ClientContext, "token">, amount: TokenAmount): Promise<TokenUnits> {
  const units = typeof amount === "bigint" ? amount : parseDecimal(amount, Number(await ctx.token.decimals()));
  if (units <= 0n) throw new InvalidRequestError("the amount must be positive");
  return units as TokenUnits;
}

/**
 * Approves `spender` for `units` unless the allowance at the latest block (not a cached answer from before a
 * transaction that used it) already covers them.
 */
export async function approveIfShort(ctx: ClientContext, spender: string, units: bigint): Promise<void> {
  const owner = await accountOf(ctx);
  const { number } = await withPerpErrors(() => latestBlock(ctx.provider));
  const allowance = await withPerpErrors(() => ctx.token.allowance(owner, spender, { blockTag: number }));
  if (allowance < units) await sendCall(ctx, ctx.token.approve.populateTransaction(spender, units));
}
