/**
 * Every action, `action(client, parameters)`: what `PerpClient`'s methods call.
 *
 * @packageDocumentation
 */
export * from "./collateral/addMargin.js";
export * from "./collateral/deposit.js";
export * from "./collateral/depositWithPermit.js";
export * from "./collateral/quoteMarginChange.js";
export * from "./collateral/removeMargin.js";
export * from "./collateral/withdraw.js";
export * from "./liquidation/autoDeleverage.js";
export * from "./liquidation/deleverageCheck.js";
export * from "./liquidation/getDeleverageStatus.js";
export * from "./liquidation/liquidate.js";
export * from "./liquidation/liquidateMany.js";
export * from "./lp/getLpPosition.js";
export * from "./lp/lpDeposit.js";
export * from "./lp/lpWithdraw.js";
export * from "./lp/lpRequests.js";
export * from "./orders/cancelOrder.js";
export * from "./orders/commitOrder.js";
export * from "./orders/getOrders.js";
export * from "./orders/placeBracket.js";
export * from "./orders/placeTriggerOrder.js";
export * from "./orders/priceIds.js";
export * from "./orders/sendOrder.js";
export * from "./orders/settleOrder.js";
export * from "./orders/updateTriggerOrder.js";
export * from "./orders/waitForSettlement.js";
export * from "./read/accountSummary.js";
export * from "./read/getAccount.js";
export * from "./read/getAccountHistory.js";
export * from "./read/getCrossHealth.js";
export * from "./read/getFundingPaid.js";
export * from "./read/getFundingRate.js";
export * from "./read/getMarket.js";
export * from "./read/getMarkets.js";
export * from "./read/getPriceHistory.js";
export * from "./read/getPriceTimes.js";
export * from "./read/getPositions.js";
export * from "./read/getProtocolParams.js";
export * from "./read/getSnapshot.js";
export * from "./read/getVaultSharePrice.js";
export * from "./read/getVaultState.js";
export * from "./trade/closePosition.js";
export * from "./trade/quoteFromSnapshot.js";
export * from "./trade/quoteTrade.js";
export * from "./trade/sendQuote.js";
export * from "./trade/trade.js";
