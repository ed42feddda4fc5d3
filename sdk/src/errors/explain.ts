/**
 * Every custom error the protocol's contracts can raise, in plain words with its numbers formatted. The map is
 * typed by the ABIs' error names, so a new contract error without an explanation does not compile
 * (`test/sdk/errors-explained.test.ts` checks the same at run time, over the ABIs).
 *
 * @packageDocumentation
 */
import { ZeroAddress } from "ethers";

import { CROSS } from "../constants.js";
import { formatDecimal, formatPrice, formatUsd } from "../units.js";
import type { ContractErrorName } from "./abi.js";

const usd = (v: unknown) => formatUsd(BigInt(v as bigint));
const usdc = (v: unknown) => `${formatDecimal(BigInt(v as bigint), 6, 2)} USDC`;
const price = (v: unknown) => formatPrice(BigInt(v as bigint), 2);
const size = (v: unknown) => formatDecimal(BigInt(v as bigint), 18, 0, 6);
const shares = (v: unknown) => formatDecimal(BigInt(v as bigint), 12, 0, 6);
const when = (v: unknown) => {
  const date = new Date(Number(v as bigint) * 1000);
  return Number.isNaN(date.getTime()) ? `${String(v)} (unix time)` : date.toISOString();
};
const market = (v: unknown) => (BigInt(v as bigint) === CROSS ? "the cross account" : `market ${String(v)}`);
/** `OrderKind` of IOrderBook.sol, in words. */
const ORDER_KINDS = ["market", "limit", "stop-entry", "take-profit", "stop-loss", "trailing-stop"] as const;
const kind = (v: unknown) => ORDER_KINDS[Number(v as bigint)] ?? `kind ${String(v)}`;
const order = (v: unknown) => `order #${String(v)}`;
const feed = (v: unknown) => `price feed ${String(v).slice(0, 10)}…`;
const eth = (v: unknown) => `${formatDecimal(BigInt(v as bigint), 18, 0, 18)} ETH`;
const secondsBetween = (later: unknown, earlier: unknown) => `${String(BigInt(later as bigint) - BigInt(earlier as bigint))} s`;
/** A signed order size; `CLOSE_ALL` (int256 min) reads as "the whole position". */
const orderSize = (v: unknown) => (BigInt(v as bigint) === -(2n ** 255n) ? "the whole position" : size(v));

/** How each error's arguments read in plain words. */
export const EXPLANATIONS: Record<ContractErrorName, (a: Record<string, unknown>) => string> = {
  // The margin rules, one error each (SPEC "Margin accounts"); every maintenance figure includes the minimum keeper
  // reward per position.
  TradeBelowInitialMargin: (a) =>
    `after this trade, equity at close prices ${usd(a.equityAtClose)} < initial margin ${usd(a.initialMargin)}: add margin or trade smaller`,
  TradeBelowMaintenanceMargin: (a) =>
    `after this trade, equity ${usd(a.equity)} < maintenance ${usd(a.maintenanceMargin)}: it would be liquidatable at once`,
  TradeLeavesNegativeMargin: (a) =>
    `this trade would leave the isolated margin in ${market(a.marketId)} at ${usd(a.margin)}: close the position fully or add margin first`,
  DebitBelowInitialMargin: (a) =>
    `after this debit of the cross balance, equity at close prices counting no profit ${usd(a.equityNoProfit)} < initial margin ${usd(a.initialMargin)} of the cross positions`,
  DebitBelowMaintenanceMargin: (a) =>
    `after this debit of the cross balance, equity ${usd(a.equity)} < maintenance ${usd(a.maintenanceMargin)}: the cross account would be liquidatable`,
  RemovalExceedsMargin: (a) => `the isolated margin in ${market(a.marketId)} is ${usd(a.margin)}, less than the ${usd(a.amount)} asked`,
  RemovalBelowInitialMargin: (a) =>
    `after this removal, the margin in ${market(a.marketId)} counting no profit ${usd(a.equityNoProfit)} < initial margin ${usd(a.initialMargin)}`,
  RemovalBelowMaintenanceMargin: (a) =>
    `after this removal, equity in ${market(a.marketId)} ${usd(a.equity)} < maintenance ${usd(a.maintenanceMargin)}: the position would be liquidatable`,
  InsufficientCrossBalance: (a) => `cross balance ${usd(a.balance)} < ${usd(a.amount)}`,
  AccountLiquidatable: (a) =>
    `account ${a.trader} is liquidatable: equity ${usd(a.equity)} < maintenance ${usd(a.maintenanceMargin)}`,
  SlippageExceeded: (a) => `fill price ${price(a.fillPrice)} is worse than the acceptable ${price(a.acceptablePrice)}`,
  MarketReduceOnly: (a) => `${market(a.marketId)} is reduce-only: positions can shrink, not grow`,
  OpenInterestCapExceeded: (a) =>
    `${market(a.marketId)} ${a.isLong ? "long" : "short"} open interest would be ${size(a.openInterest)}, above the cap ${size(a.cap)}`,
  InsufficientVaultLiquidity: (a) => `the LP vault needs ${usd(a.required)} of cash, it has ${usd(a.available)}`,
  PositionTooSmall: (a) => `position notional ${usd(a.notional)} is below the minimum ${usd(a.minNotional)}`,
  PositionModeMismatch: (a) =>
    `the open position in ${market(a.marketId)} is ${a.positionIsIsolated ? "isolated" : "cross"}: trade it as ` +
    `${a.positionIsIsolated ? "isolated" : "cross"} (a position keeps its margin mode until it is closed)`,
  NotIsolated: (a) => `the position in ${market(a.marketId)} is not isolated`,
  TooManyCrossPositions: (a) => `at most ${String(a.max)} cross positions per account`,
  NoPosition: (a) => `${a.trader} has no position in ${market(a.marketId)}`,
  NotLiquidatable: (a) =>
    `${a.trader} in ${market(a.marketId)} is not liquidatable: equity ${usd(a.equity)} >= maintenance ${usd(a.maintenanceMargin)}`,
  UnknownMarket: (a) => `no market with id ${String(a.marketId)}`,
  ZeroAmount: () => "the amount or size must not be zero",
  ShortTransfer: (a) => `the token delivered ${usdc(a.received)} instead of ${usdc(a.expected)}`,
  // The engine's (two arrays) and the order book's (one array too long) share the name.
  ScanPageTooLarge: (a) => `a PerpLens.scan page of ${String(a.length)} pairs is over the lens's ${String(a.max)}: split it`,
  InvalidBatch: (a) =>
    a.length !== undefined
      ? `a batch of ${String(a.length)} orders is empty or longer than the order book accepts`
      : `batch arrays of lengths ${String(a.tradersLength)} and ${String(a.marketIdsLength)}`,
  DeleverageNotNeeded: (a) => `traders' profit ${usd(a.tradersProfit)} is within the limit ${usd(a.limit)}`,
  PositionNotProfitable: (a) => `the position's value ${usd(a.value)} is not positive`,
  InvalidParameter: (a) => `parameter out of bounds: ${String(a.code)}`,
  NotGuardian: (a) => `${a.caller} is neither the guardian nor the owner`,
  NotVault: (a) => `${a.caller} is not the LP vault`,
  VaultAlreadySet: () => "the vault is already set",
  NotOrderBook: (a) => `only the order book may do this (caller ${a.caller})`,
  NotPriceWriter: (a) => `only the adapter's order book and its engine may hand it a parsed price (caller ${a.caller}); anyone's update goes through updatePrice or verifyAt`,
  AtomicTradingClosed: (a) => `trading goes through the order book (${String(a.orderBook)}): commit an order instead of trading at once`,
  OrderBookAlreadySet: () => "the order book is already set",
  InsufficientEscrow: (a) => `${a.trader} has ${usd(a.escrowed)} in order escrow, not ${usd(a.amount)}`,
  // Order book (SPEC "Orders").
  NotOrderOwner: (a) => `order ${String(a.orderId)} belongs to ${a.owner}, not ${a.caller}`,
  OrderNotFound: (a) => `order ${String(a.orderId)} is not open (never placed, or already settled or cancelled)`,
  WrongOrderKind: (a) => `order ${String(a.orderId)} is of kind ${String(a.kind)}, which this call does not take`,
  ZeroSize: () => "the order size is zero",
  PendingMarketOrder: (a) =>
    `${a.trader} already has market order ${String(a.orderId)} pending in ${market(a.marketId)} (one per market)`,
  MarketOrderNotExpired: (a) => `order ${String(a.orderId)} can be cancelled from ${when(a.expiresAt)} (now ${when(a.blockTime)})`,
  MarketOrderExpired: (a) => `order ${String(a.orderId)} expired at ${when(a.expiredAt)} (now ${when(a.blockTime)})`,
  SettlementTooEarly: (a) =>
    `${order(a.orderId)} settles from ${when(a.settleableAt)} on (${secondsBetween(a.settleableAt, a.blockTime)} after the block time): ` +
    "no price of its window is published yet",
  TooManyOrders: (a) => `${a.trader} has ${String(a.open)} open trigger orders, the most allowed is ${String(a.max)}`,
  TooManyPositionOrders: (a) =>
    `${a.trader} has ${String(a.open)} trigger orders in ${market(a.marketId)}, the most allowed is ${String(a.max)}`,
  TriggerOnWrongSide: (a) =>
    `a ${a.isBuy ? "buy" : "sell"} ${kind(a.kind)} order at ${price(a.triggerPrice)} would trigger at once at the current ` +
    `price ${price(a.currentPrice)}: use a market order, or a trigger on the other side of the price`,
  TriggerNotReached: (a) => `order ${String(a.orderId)} triggers at ${price(a.triggerPrice)}, the price is ${price(a.price)}`,
  PriceBeforeOrder: (a) =>
    `the price of ${when(a.publishTime)} is not newer than order ${String(a.orderId)} (placed or updated ${when(a.createdAt)})`,
  TriggerPriceTooOld: (a) =>
    `the price of ${when(a.publishTime)} is more than ${String(a.maxAge)} s old for order ${String(a.orderId)}`,
  InvalidTrailBps: (a) => `trailing distance ${String(a.trailBps)} bps is invalid (1 to 9,999, and 0 for other kinds)`,
  InvalidTriggerPrice: () => "invalid trigger price (zero, or set on a trailing stop, whose peak starts at the price)",
  NotReducing: (a) =>
    `a reduce-only order of size ${a.sizeDelta === -(2n ** 255n) ? "close-all" : size(a.sizeDelta)} does not reduce ` +
    `${a.trader}'s position of ${size(a.positionSize)} in ${market(a.marketId)}`,
  InsufficientExecutionGas: (a) => `${String(a.gasLeft)} gas left, the order book needs ${String(a.required)}`,
  ExecutionOutOfGas: (a) => `order ${String(a.orderId)} ran out of gas in the engine (${String(a.gasAtCall)} gas left at the call); send it with a higher gas limit (the order stays)`,
  InvalidOrderBookParam: (a) => `invalid order book parameter: ${String(a.code)}`,
  MsgValueTooLow: (a) => `the oracle fee is ${String(a.required)} wei, ${String(a.provided)} sent`,
  PriceFeedOfAnotherBook: (a) =>
    `price feed ${String(a.feed)} hands its prices to ${String(a.itsBook)}, not to this engine's order book: build the adapter naming the book`,
  PriceFeedOfAnotherEngine: (a) =>
    `price feed ${String(a.feed)} takes prices from engine ${String(a.itsEngine)}, not this one (it was built before the order book existed): build the adapter again, naming the deployed book`,
  FeedNotOfThisBook: (a) =>
    a.itsBook === ZeroAddress
      ? `the market's price feed ${String(a.feed)} hands its prices to no order book (or is no Pyth adapter): the market cannot take orders until governance sets an adapter built for this book`
      : `the market's price feed ${String(a.feed)} hands its prices to another order book (${String(a.itsBook)}): the market cannot take orders until governance sets an adapter built for this book`,
  TooManyIds: (a) => `${String(a.length)} ids in one batch, at most ${String(a.max)}`,
  TooManyMarkets: (a) => `at most ${String(a.max)} markets`,
  InsufficientUpdateFee: (a) =>
    `the price update needs ${String(a.required)} wei of fees (the sum of the feeds' getUpdateFee) but ${String(a.provided)} wei was sent`,
  RefundFailed: (a) => `the unspent ${String(a.amount)} wei could not be refunded to ${String(a.to)} (it rejects ether)`,
  InvalidOraclePrice: (a) => `oracle ${a.feed} answered an invalid price (${String(a.answer)})`,
  StaleOraclePrice: (a) =>
    `oracle ${a.feed} is stale: last update ${when(a.updatedAt)}, heartbeat ${String(a.heartbeat)} s`,
  SequencerDown: (a) => `the L2 sequencer is down (uptime feed ${a.sequencerFeed})`,
  SequencerGracePeriodNotOver: (a) =>
    `the L2 sequencer restarted at ${when(a.upSince)}; prices are trusted ${String(a.gracePeriod)} s later`,
  SharesLocked: (a) => `LP shares of ${a.account} are locked until ${when(a.unlocksAt)}`,
  NotController: (a) =>
    `only the controller may request, claim or cancel for itself (caller ${a.caller}, controller ${a.controller}, owner ${a.owner})`,
  RequestPending: (a) => `${a.controller} already has a pending LP request (made ${when(a.requestedAt)}): settle or cancel it first`,
  NoPendingRequest: (a) => `${a.controller} has no pending LP request`,
  SettleTooEarly: (a) => `the LP request of ${a.controller} can be settled from ${when(a.settleableAt)}`,
  CancelTooEarly: (a) => `the LP request of ${a.controller} can be cancelled from ${when(a.cancellableAt)}`,
  ExceedsClaimable: (a) => `${a.controller} can claim ${String(a.claimable)} now, asked ${String(a.requested)} (settle the request first)`,
  DepositsClosed: (a) => `the vault takes no deposits while its NAV is zero (NAV ${usdc(a.totalAssets)}, ${shares(a.totalSupply)} shares)`,
  ZeroSettlement: (a) => `the LP request of ${a.controller} (${String(a.amount)}) is worth nothing at the current NAV: cancel it`,
  ParameterOutOfBounds: (a) => `${String(a.value)} is outside [${String(a.min)}, ${String(a.max)}]`,
  UseRequestFlow: () => "the vault is asynchronous: use requestDeposit / requestRedeem, then claim once settled",
  ExceedsRedeemable: (a) => `${a.owner} can request to redeem at most ${shares(a.maxShares)} shares now, asked ${shares(a.shares)}`,
  DepositForAnotherAccount: (a) => `vault deposits must be made for yourself (caller ${a.caller}, receiver ${a.receiver})`,
  ERC4626ExceededMaxWithdraw: (a) => `can withdraw at most ${usdc(a.max)} now, asked ${usdc(a.assets)}`,
  ERC4626ExceededMaxRedeem: (a) => `can redeem at most ${shares(a.max)} shares now, asked ${shares(a.shares)}`,
  ERC4626ExceededMaxDeposit: (a) => `the vault accepts at most ${usdc(a.max)} now (NAV is zero?), asked ${usdc(a.assets)}`,
  ERC20InsufficientBalance: (a) => `${a.sender} holds ${usdc(a.balance)}, needs ${usdc(a.needed)}`,
  ERC20InsufficientAllowance: (a) => `allowance ${usdc(a.allowance)} is below ${usdc(a.needed)}: approve first`,
  OwnableUnauthorizedAccount: (a) => `${a.account} is not the owner`,
  OwnableInvalidOwner: (a) => `${a.owner} cannot be the owner`,
  ReentrancyGuardReentrantCall: () => "re-entered the contract during a call (a token or hook called back)",
  UnsupportedFeedDecimals: (a) => `the Chainlink feed has ${String(a.decimals)} decimals; the adapter supports at most 18`,
  InvalidOracleConfig: () => "the oracle adapter was configured with a zero heartbeat or an empty answer band",
  SafeCastOverflowedIntDowncast: (a) => `${String(a.value)} does not fit in int${String(a.bits)} (a value out of the protocol's bounds)`,
  SafeCastOverflowedUintDowncast: (a) => `${String(a.value)} does not fit in uint${String(a.bits)} (a value out of the protocol's bounds)`,
  SafeCastOverflowedIntToUint: (a) => `${String(a.value)} is negative where a non-negative amount is required`,
  SafeCastOverflowedUintToInt: (a) => `${String(a.value)} is too large for a signed amount`,
  SafeERC20FailedOperation: (a) => `the token ${a.token} refused or failed the transfer`,
  ERC20InvalidSender: (a) => `${a.sender} cannot send tokens (the zero address)`,
  ERC20InvalidReceiver: (a) => `${a.receiver} cannot receive tokens (the zero address)`,
  ERC20InvalidApprover: (a) => `${a.approver} cannot approve (the zero address)`,
  ERC20InvalidSpender: (a) => `${a.spender} cannot be approved (the zero address)`,
  ERC4626ExceededMaxMint: (a) => `the vault mints at most ${shares(a.max)} shares now (NAV is zero?), asked ${shares(a.shares)}`,
  ERC2612ExpiredSignature: (a) => `the permit expired at ${when(a.deadline)}`,
  ERC2612InvalidSigner: (a) => `the permit was signed by ${a.signer}, not by the owner ${a.owner}`,
  InvalidAccountNonce: (a) => `the permit's nonce is not ${a.account}'s current nonce ${String(a.currentNonce)}`,
  ECDSAInvalidSignature: () => "the signature is invalid",
  ECDSAInvalidSignatureLength: (a) => `the signature has ${String(a.length)} bytes, not 65`,
  ECDSAInvalidSignatureS: () => "the signature's s value is in the upper half of the curve order (malleable)",
  InvalidShortString: () => "the token's name or symbol is not a valid short string",
  StringTooLong: (a) => `the string "${String(a.str)}" is too long`,
  // ---------------------------------------------------------------- IOrderBook
  // ---------------------------------------------------------------- IOrderEngine
  // ---------------------------------------------------------------- IPythErrors (the Pyth adapter)
  InvalidPythConfig: (a) => `the Pyth adapter's configuration is invalid: ${String(a.code)}`,
  PythPriceNotFound: (a) => `the update data carries no usable price of ${feed(a.priceId)} (wrong feed, or outside the window asked for)`,
  NonPositivePythPrice: (a) => `Pyth published a non-positive price (${String(a.price)}) for ${feed(a.priceId)}`,
  PythExponentUnsupported: (a) => `Pyth's exponent ${String(a.expo)} for ${feed(a.priceId)} cannot be normalised to 18 decimals`,
  PythConfidenceTooWide: (a) => {
    const p = BigInt(a.price as bigint);
    const bps = p === 0n ? "?" : formatDecimal((BigInt(a.conf as bigint) * 10_000n * 100n) / p, 2, 0, 2);
    return `the confidence interval ${price(a.conf)} of ${feed(a.priceId)} is ${bps} bps of the price ${price(a.price)}, above the ${String(a.maxConfBps)} bps allowed`;
  },
  PythPriceOutOfBand: (a) =>
    `Pyth's price ${price(a.price)} of ${feed(a.priceId)} is more than ${String(a.maxDevBps)} bps from the Chainlink reference ${price(a.referencePrice)}`,
  PythPriceInFuture: (a) =>
    `the price of ${feed(a.priceId)} was published at ${when(a.publishTime)}, more than ${String(a.maxFutureSkew)} s after the block time ${when(a.blockTime)}`,
  PythPriceOlderThanCache: (a) =>
    `the price of ${feed(a.priceId)} published at ${when(a.publishTime)} is older than the one already used (${when(a.cacheTime)}): fetch a newer one`,
  StalePythPrice: (a) =>
    `the price of ${feed(a.priceId)} was published at ${when(a.publishTime)}, older than the ${String(a.maxAge)} s allowed: send a fresh price update`,
  PythPriceOutsideWindow: (a) =>
    `the price of ${feed(a.priceId)} was published at ${when(a.publishTime)}, outside the window ${when(a.minPublishTime)} – ${when(a.maxPublishTime)}`,
  InsufficientPythFee: (a) => `the oracle update costs ${eth(a.required)}, the transaction pays ${eth(a.provided)}`,
  NoCachedPrice: (a) => `${feed(a.priceId)} has no verified price yet: send a price update first`,
  // ---------------------------------------------------------------- Pyth's own errors (StrictMockPyth, real Pyth)
  InsufficientFee: () => "Pyth was paid less than its update fee (getUpdateFee of the data)",
  InvalidArgument: () => "Pyth refused an argument (e.g. a publish-time range whose start is after its end)",
  InvalidUpdateData: () => "Pyth could not decode the update data",
  NoFreshUpdate: () => "none of the update data is newer than what Pyth already stores",
  PriceFeedNotFound: () => "the Pyth price feed id is unknown (or absent from the update data)",
  PriceFeedNotFoundWithinRange: () =>
    "the update data has no price of the feed in the publish-time range asked for (or, for a unique price, one whose previous update is also in range)",
  StalePrice: () => "Pyth's stored price is older than the age asked for",
  StrictMockPythUnsupported: (a) => `the local Pyth mock does not implement ${String(a.functionName)} (the protocol does not use it)`,
};


/**
 * The plain-words text of a contract error, without its name.
 * @example explainContractError("TooManyCrossPositions", { max: 16n }) // "at most 16 cross positions per account"
 */
export function explainContractError(name: ContractErrorName, args: Record<string, unknown>): string {
  return EXPLANATIONS[name](args);
}
