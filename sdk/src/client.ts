/**
 * `PerpClient`: one object per deployment and account, over the typechain bindings and ethers only, so it runs in a
 * browser (EIP-1193 wallet) or Node (any JSON-RPC endpoint). It holds state (bindings, runner, send policy, each
 * feed's price unit) and nothing else: every method is an action of `actions/`, `client.deposit(x)` is
 * `deposit(client, { amount: x })`.
 *
 * @packageDocumentation
 */
import type { ContractRunner, Provider, Signer, TransactionReceipt } from "ethers";

import { accountSummary, type AccountSummary } from "./actions/read/accountSummary.js";
import { getAccount } from "./actions/read/getAccount.js";
import { getAccountHistory, type GetAccountHistoryParameters, type GetAccountHistoryReturnType } from "./actions/read/getAccountHistory.js";
import { getCrossHealth } from "./actions/read/getCrossHealth.js";
import { getFundingPaid, type GetFundingPaidReturnType } from "./actions/read/getFundingPaid.js";
import { getFundingRate, type GetFundingRateReturnType } from "./actions/read/getFundingRate.js";
import { getMarket, resolveMarket } from "./actions/read/getMarket.js";
import { getPriceHistory, type GetPriceHistoryParameters, type GetPriceHistoryReturnType } from "./actions/read/getPriceHistory.js";
import { getMarkets } from "./actions/read/getMarkets.js";
import { getPositions } from "./actions/read/getPositions.js";
import { getProtocolParams } from "./actions/read/getProtocolParams.js";
import { getSnapshot } from "./actions/read/getSnapshot.js";
import { getVaultSharePrice } from "./actions/read/getVaultSharePrice.js";
import { getVaultState, type GetVaultStateReturnType } from "./actions/read/getVaultState.js";
import { addMargin } from "./actions/collateral/addMargin.js";
import { deposit } from "./actions/collateral/deposit.js";
import { depositWithPermit } from "./actions/collateral/depositWithPermit.js";
import { quoteMarginChange, type MarginChangeQuote, type MarginChangeRequest } from "./actions/collateral/quoteMarginChange.js";
import { removeMargin } from "./actions/collateral/removeMargin.js";
import { withdraw } from "./actions/collateral/withdraw.js";
import { cancelOrder, type CancelOrderReturnType } from "./actions/orders/cancelOrder.js";
import { commitOrder, type CommitOrderReturnType } from "./actions/orders/commitOrder.js";
import { getOrders } from "./actions/orders/getOrders.js";
import { placeBracket, type PlaceBracketParameters, type PlaceBracketReturnType } from "./actions/orders/placeBracket.js";
import {
  placeTriggerOrder,
  type PlaceTriggerOrderParameters,
  type PlaceTriggerOrderReturnType,
} from "./actions/orders/placeTriggerOrder.js";
import type { OrderFlowOptions } from "./actions/orders/sendOrder.js";
import { settleOrder, type SettleOrderParameters, type SettleOrderReturnType } from "./actions/orders/settleOrder.js";
import {
  updateTriggerOrder,
  type UpdateTriggerOrderParameters,
  type UpdateTriggerOrderReturnType,
} from "./actions/orders/updateTriggerOrder.js";
import { waitForSettlement, type WaitForSettlementParameters } from "./actions/orders/waitForSettlement.js";
import { closePosition } from "./actions/trade/closePosition.js";
import { quoteTrade } from "./actions/trade/quoteTrade.js";
import { sendQuote, type SendQuoteReturnType } from "./actions/trade/sendQuote.js";
import { trade, type TradeReturnType } from "./actions/trade/trade.js";
import { getLpPosition, type GetLpPositionReturnType } from "./actions/lp/getLpPosition.js";
import { lpDeposit } from "./actions/lp/lpDeposit.js";
import { lpWithdraw } from "./actions/lp/lpWithdraw.js";
import { getLpRequests, lpCancel, lpClaim, lpSettle, type GetLpRequestsReturnType, type LpRequestKind } from "./actions/lp/lpRequests.js";
import { autoDeleverage } from "./actions/liquidation/autoDeleverage.js";
import { getDeleverageStatus, type GetDeleverageStatusReturnType } from "./actions/liquidation/getDeleverageStatus.js";
import { liquidate } from "./actions/liquidation/liquidate.js";
import { liquidateMany } from "./actions/liquidation/liquidateMany.js";
import { accountOf, createClientContext, type ClientContext, type OrderPriceSource } from "./client/context.js";
import type { Deployment } from "./deployments.js";
import { WrongChainError, withPerpErrors } from "./errors.js";
import { decodeReceipt, liquidationEvents, tradeExecutions, type PerpEvent } from "./events/decode.js";
import type { ICollateralToken, IOrderBook, LiquidityVault, PerpEngine, PerpLens } from "./generated/index.js";
import type { OrderInfo, OrderOutcome } from "./model/orders.js";
import type { SendPolicy, TransactionSender } from "./transport/sendTransaction.js";
import type {
  LiquidationRecord,
  MarketInfo,
  MarketRef,
  PositionInfo,
  Snapshot,
  TradeExecution,
  TradeQuote,
  TradeRequest,
} from "./types.js";
import type { TokenAmount, UnitInput, UsdAmount, Wad, WadAmount } from "./units.js";
import type { AccountSnapshot, ProtocolParams, Valuation } from "./valuation.js";

export type * from "./types.js";

/** Options of `PerpClient.connect`. */
export interface ConnectOptions {
  /** A `Signer` to trade, a `Provider` to read. */
  readonly runner: ContractRunner;
  readonly deployment: Deployment;
  /** How the client sends (default: through the signer, nonce read past ethers' cache, gas + 25 %). */
  readonly send?: SendPolicy;
  /** Where to get Pyth update data to settle the client's own orders (`settle: "self"`, `settleOrder`). */
  readonly priceSource?: OrderPriceSource;
}

/**
 * The protocol, bound to a deployment and a runner (a `Signer` to trade, a `Provider` to read).
 *
 * @example
 * ```ts
 * import { JsonRpcProvider, Wallet } from "ethers";
 * import { PerpClient } from "@perp/sdk";
 * const provider = new JsonRpcProvider(process.env.RPC_URL ?? "http://127.0.0.1:8545");
 * const client = await PerpClient.connect({ runner: new Wallet(process.env.PRIVATE_KEY!, provider), deployment });
 * await client.deposit("1000");
 * const { quote } = await client.trade({ market: "ETH-USD", side: "long", margin: "500", leverage: 10, isolated: true });
 * console.log(quote.liquidationPrice);
 * ```
 */
export class PerpClient implements ClientContext {
  readonly deployment: Deployment;
  readonly engine: PerpEngine;
  readonly vault: LiquidityVault;
  readonly lens: PerpLens;
  readonly token: ICollateralToken;
  readonly provider: Provider;
  readonly signer: Signer | undefined;
  /** Sends the client's transactions under its policy (`transport/sendTransaction.ts`); undefined when read-only. */
  readonly sender: TransactionSender | undefined;
  /** @internal Each market's oracle unit, read once. */
  readonly priceUnits: Map<number, bigint>;
  /** The order book (v2 deployments). */
  readonly orderBook: IOrderBook | undefined;
  readonly priceSource: OrderPriceSource | undefined;

  private constructor(ctx: ClientContext) {
    ({
      deployment: this.deployment,
      engine: this.engine,
      vault: this.vault,
      lens: this.lens,
      token: this.token,
      provider: this.provider,
      signer: this.signer,
      sender: this.sender,
      priceUnits: this.priceUnits,
      orderBook: this.orderBook,
      priceSource: this.priceSource,
    } = ctx);
  }

  /**
   * Connects to a deployment, checking that the endpoint serves the deployment's chain (`WrongChainError`).
   * @example const client = await PerpClient.connect({ runner: signer, deployment })
   */
  static async connect(options: ConnectOptions): Promise<PerpClient> {
    const client = new PerpClient(createClientContext(options.deployment, options.runner, options.send, { priceSource: options.priceSource }));
    const network = await withPerpErrors(() => client.provider.getNetwork());
    if (Number(network.chainId) !== options.deployment.chainId) {
      throw new WrongChainError(options.deployment.chainId, Number(network.chainId));
    }
    return client;
  }

  /** The signer's address, or `trader` when given. @example await client.address() */
  address(trader?: string): Promise<string> {
    return accountOf(this, trader);
  }

  // ===================================================================== reads (actions/read)

  /** `getMarkets`. @example const [eth] = await client.markets() */
  markets(blockTag?: number): Promise<MarketInfo[]> {
    return getMarkets(this, { blockTag });
  }
  /** `getMarket`. @example const eth = await client.market("ETH-USD") */
  market(ref: MarketRef): Promise<MarketInfo> {
    return getMarket(this, { market: ref });
  }
  /** `resolveMarket` (pure). @example client.resolve(markets, "eth") */
  resolve(markets: Iterable<MarketInfo>, ref: MarketRef): MarketInfo {
    return resolveMarket(markets, ref);
  }
  /** `getProtocolParams`. @example (await client.protocolParams()).keeperRewardMin */
  protocolParams(blockTag?: number): Promise<ProtocolParams> {
    return getProtocolParams(this, { blockTag });
  }
  /** `getAccount`. @example const account = await client.account() */
  account(trader?: string, marketCount?: number, blockTag?: number): Promise<AccountSnapshot> {
    return getAccount(this, { trader, marketCount, blockTag });
  }
  /** `getSnapshot`: markets, parameters and account at one block. @example const snap = await client.snapshot() */
  snapshot(trader?: string): Promise<Snapshot> {
    return getSnapshot(this, { trader });
  }
  /** `getPositions`. @example for (const p of await client.positions()) console.log(p.symbol, p.liquidationPrice) */
  positions(trader?: string, snap?: Snapshot, options: { withFunding?: boolean } = {}): Promise<PositionInfo[]> {
    return getPositions(this, { trader, snapshot: snap, withFunding: options.withFunding });
  }
  /** `getFundingPaid`: funding settled by market. @example (await client.fundingPaid()).get(0)?.position */
  fundingPaid(trader?: string): Promise<GetFundingPaidReturnType> {
    return getFundingPaid(this, { trader });
  }
  /**
   * `getAccountHistory`: trades, funding settlements and liquidations from the engine's events.
   * @example for (const t of (await client.accountHistory()).trades) console.log(t.fillPrice)
   */
  accountHistory(parameters: GetAccountHistoryParameters = {}): Promise<GetAccountHistoryReturnType> {
    return getAccountHistory(this, parameters);
  }
  /**
   * `accountSummary`: free collateral, cross and isolated valuations and health (a fresh snapshot unless given).
   * @example formatUsd((await client.accountSummary()).freeCollateral)
   */
  async accountSummary(trader?: string, snap?: Snapshot): Promise<AccountSummary> {
    return accountSummary(snap ?? (await getSnapshot(this, { trader })));
  }
  /**
   * `getPriceHistory`: each market's prices cached on chain (Pyth adapters' `PriceCached`), in publish-time order.
   * @example for (const p of (await client.priceHistory()).markets.get(0) ?? []) console.log(p.publishTime, p.price)
   */
  priceHistory(parameters: GetPriceHistoryParameters = {}): Promise<GetPriceHistoryReturnType> {
    return getPriceHistory(this, parameters);
  }
  /** `getCrossHealth`. @example (await client.crossHealth()).equity */
  crossHealth(trader?: string, snap?: Snapshot): Promise<Valuation> {
    return getCrossHealth(this, { trader, snapshot: snap });
  }
  /** `getFundingRate`. @example const { current, predicted } = await client.fundingRate("ETH-USD", 10n ** 18n) */
  fundingRate(ref: MarketRef, sizeDelta?: UnitInput<"wad">): Promise<GetFundingRateReturnType> {
    return getFundingRate(this, { market: ref, sizeDelta });
  }
  /** `getVaultSharePrice`. @example formatDecimal(await client.vaultSharePrice(), 18) */
  vaultSharePrice(): Promise<Wad> {
    return getVaultSharePrice(this);
  }
  /** `getVaultState`. @example (await client.vaultState()).nav */
  vaultState(): Promise<GetVaultStateReturnType> {
    return getVaultState(this);
  }
  /** `getLpPosition`: shares, value, and when the cooldown ends. @example (await client.lpPosition()).cooldownEndsAt */
  lpPosition(account?: string): Promise<GetLpPositionReturnType> {
    return getLpPosition(this, { account });
  }
  /** `getDeleverageStatus`. @example (await client.deleverageStatus("ETH-USD")).needed */
  deleverageStatus(ref: MarketRef): Promise<GetDeleverageStatusReturnType> {
    return getDeleverageStatus(this, { market: ref });
  }

  // ===================================================================== quotes and trades (actions/trade)

  /** `quoteTrade`. @example const quote = await client.quoteTrade({ market: "ETH", side: "short", size: "2" }) */
  quoteTrade(request: TradeRequest, trader?: string, snap?: Snapshot): Promise<TradeQuote> {
    return quoteTrade(this, { ...request, trader, snapshot: snap });
  }
  /**
   * `trade`: quote, then send (v2: commit a market order with its stop-loss / take-profit, then settle).
   * @example const { quote, outcome } = await client.trade({ market: "ETH-USD", side: "long", size: "1", stopLoss: "1850" })
   */
  trade(request: TradeRequest & OrderFlowOptions): Promise<TradeReturnType> {
    return trade(this, request);
  }
  /** `sendQuote`: send a quote the user confirmed. @example await client.sendQuote(quote) */
  sendQuote(quote: TradeQuote): Promise<SendQuoteReturnType> {
    return sendQuote(this, { quote });
  }
  /** `closePosition`. @example await client.closePosition("ETH-USD", { slippage: "1%" }) */
  closePosition(ref: MarketRef, options: { slippage?: WadAmount } & OrderFlowOptions = {}): Promise<TradeReturnType> {
    return closePosition(this, { market: ref, ...options });
  }

  // ===================================================================== orders (actions/orders)

  /** `commitOrder`: a market order of exactly the quote. @example const { order } = await client.commitOrder(quote) */
  commitOrder(quote: TradeQuote): Promise<CommitOrderReturnType> {
    return commitOrder(this, { quote });
  }
  /** `waitForSettlement`. @example const outcome = await client.waitForSettlement({ orderId }) */
  waitForSettlement(parameters: WaitForSettlementParameters): Promise<OrderOutcome> {
    return waitForSettlement(this, parameters);
  }
  /** `settleOrder`: settle a market order with the client's price source. @example await client.settleOrder({ orderId }) */
  settleOrder(parameters: SettleOrderParameters): Promise<SettleOrderReturnType> {
    return settleOrder(this, parameters);
  }
  /** `cancelOrder`. @example await client.cancelOrder(7n) */
  cancelOrder(orderId: bigint): Promise<CancelOrderReturnType> {
    return cancelOrder(this, { orderId });
  }
  /** `placeTriggerOrder`. @example await client.placeTriggerOrder({ market: "ETH", kind: "stop-loss", triggerPrice: "1850" }) */
  placeTriggerOrder(parameters: PlaceTriggerOrderParameters): Promise<PlaceTriggerOrderReturnType> {
    return placeTriggerOrder(this, parameters);
  }
  /** `updateTriggerOrder`. @example await client.updateTriggerOrder({ orderId: 7n, triggerPrice: "1875" }) */
  updateTriggerOrder(parameters: UpdateTriggerOrderParameters): Promise<UpdateTriggerOrderReturnType> {
    return updateTriggerOrder(this, parameters);
  }
  /** `placeBracket`. @example await client.placeBracket({ market: "ETH", takeProfit: "2300", stopLoss: "1850" }) */
  placeBracket(parameters: PlaceBracketParameters): Promise<PlaceBracketReturnType> {
    return placeBracket(this, parameters);
  }
  /** `getOrders`: open orders, decoded. @example for (const o of await client.orders()) console.log(o.kind, o.voided) */
  orders(trader?: string): Promise<OrderInfo[]> {
    return getOrders(this, { trader });
  }

  // ===================================================================== collateral (actions/collateral)

  /** `deposit` (USDC: "1000.5" or token units). @example await client.deposit("1000") */
  deposit(amount: TokenAmount): Promise<TransactionReceipt> {
    return deposit(this, { amount });
  }
  /** `depositWithPermit`. @example await client.depositWithPermit("250") */
  depositWithPermit(amount: TokenAmount, deadlineSeconds?: number): Promise<TransactionReceipt> {
    return depositWithPermit(this, { amount, deadlineSeconds });
  }
  /** `withdraw` (USDC). @example await client.withdraw("400") */
  withdraw(amount: TokenAmount, receiver?: string, priceUpdate: readonly string[] = []): Promise<TransactionReceipt> {
    return withdraw(this, { amount, receiver, priceUpdate });
  }
  /** `addMargin` (USD: "100" or WAD). @example await client.addMargin("ETH-USD", "100") */
  addMargin(ref: MarketRef, amount: UsdAmount): Promise<TransactionReceipt> {
    return addMargin(this, { market: ref, amount });
  }
  /**
   * `quoteMarginChange`: the new margin, liquidation price and distance, leverage and health of an isolated position
   * after adding or removing margin, or the engine's rejection in words (a fresh snapshot unless `snap` is given).
   * @example const q = await client.quoteMarginChange({ market: "BTC", action: "remove", amount: "20" })
   */
  async quoteMarginChange(request: MarginChangeRequest, trader?: string, snap?: Snapshot): Promise<MarginChangeQuote> {
    const s = snap ?? (await getSnapshot(this, { trader }));
    return quoteMarginChange(s, { trader: trader ?? (this.signer ? await this.address() : undefined), ...request });
  }
  /** `removeMargin` (USD). @example await client.removeMargin("ETH-USD", "50") */
  removeMargin(ref: MarketRef, amount: UsdAmount, priceUpdate: readonly string[] = []): Promise<TransactionReceipt> {
    return removeMargin(this, { market: ref, amount, priceUpdate });
  }

  // ===================================================================== LP vault (actions/lp)

  /** `lpDeposit`: requests a deposit (USDC), settled later at the NAV then. @example await client.lpDeposit("100000") */
  lpDeposit(amount: TokenAmount): Promise<TransactionReceipt> {
    return lpDeposit(this, { amount });
  }
  /** `lpWithdraw`: requests a redemption of the shares worth `amount` USDC now. @example await client.lpWithdraw("1000") */
  lpWithdraw(amount: TokenAmount): Promise<TransactionReceipt> {
    return lpWithdraw(this, { amount });
  }
  /** `lpWithdraw` by shares. @example await client.lpRedeem(10n ** 15n) */
  lpRedeem(shares: bigint): Promise<TransactionReceipt> {
    return lpWithdraw(this, { shares });
  }
  /** `lpSettle`: settles a due request (default: the signer's). @example await client.lpSettle("deposit") */
  lpSettle(kind: LpRequestKind, controller?: string): Promise<TransactionReceipt> {
    return lpSettle(this, { kind, controller });
  }
  /** `lpClaim`: claims a settled request. @example await client.lpClaim("redeem") */
  lpClaim(kind: LpRequestKind, receiver?: string): Promise<TransactionReceipt> {
    return lpClaim(this, { kind, receiver });
  }
  /** `lpCancel`: cancels a request pending for over an hour. @example await client.lpCancel("deposit") */
  lpCancel(kind: LpRequestKind): Promise<TransactionReceipt> {
    return lpCancel(this, { kind });
  }
  /** `getLpRequests`: pending and claimable requests. @example (await client.lpRequests()).pendingDeposit.due */
  lpRequests(account?: string): Promise<GetLpRequestsReturnType> {
    return getLpRequests(this, { account });
  }

  // ===================================================================== liquidation (actions/liquidation)

  /** `liquidate`. @example await client.liquidate("0xTrader", "ETH-USD") */
  liquidate(trader: string, ref: MarketRef, priceUpdate: readonly string[] = []): Promise<TransactionReceipt> {
    return liquidate(this, { trader, market: ref, priceUpdate });
  }
  /** `liquidateMany`. @example await client.liquidateMany([{ trader, marketId: 0 }]) */
  liquidateMany(
    targets: readonly { trader: string; marketId: number }[],
    priceUpdate: readonly string[] = [],
  ): Promise<TransactionReceipt> {
    return liquidateMany(this, { targets, priceUpdate });
  }
  /** `autoDeleverage`. @example await client.autoDeleverage("0xTrader", "ETH-USD") */
  autoDeleverage(trader: string, ref: MarketRef, priceUpdate: readonly string[] = []): Promise<TransactionReceipt> {
    return autoDeleverage(this, { trader, market: ref, priceUpdate });
  }

  // ===================================================================== receipts (events/decode)

  /**
   * The trades a receipt of this deployment's engine records (`PositionModified`, in log order).
   * @example const [executed] = client.tradeExecutions(receipt); executed.fillPrice === quote.fillPrice
   */
  tradeExecutions(receipt: TransactionReceipt): TradeExecution[] {
    return tradeExecutions(receipt, this.deployment);
  }
  /**
   * The liquidations a receipt records (`Liquidated`); `marketId` is `undefined` for a whole cross account.
   * @example const earned = client.liquidationEvents(receipt).reduce((sum, l) => sum + l.keeperReward, 0n)
   */
  liquidationEvents(receipt: TransactionReceipt): LiquidationRecord[] {
    return liquidationEvents(receipt, this.deployment);
  }
  /** Every engine and vault event a receipt records, typed. @example client.events(receipt).map((e) => e.name) */
  events(receipt: TransactionReceipt): PerpEvent[] {
    return decodeReceipt(receipt, this.deployment);
  }
}
