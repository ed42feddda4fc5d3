import { withPerpErrors, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { IPriceFeed__factory } from "../../generated/index.js";
import { WAD } from "../../math.js";
import type { ClientContext } from "../../client/context.js";
import type { MarketInfo } from "../../types.js";

export interface GetMarketsParameters {
  /** Read at this block (default: latest). */
  readonly blockTag?: number;
}
export type GetMarketsReturnType = MarketInfo[];
export type GetMarketsErrorType = PerpContractError | PerpTransportError;

/**
 * Every market with parameters, state and live index price, in one `PerpLens.markets` call (plus each feed's
 * oracle unit, read once per client). A market whose oracle reverts reports its last touched price and
 * `priceValid: false`.
 * @example
 * ```ts
 * const [eth] = await getMarkets(client);
 * console.log(eth.symbol, formatPrice(eth.price), `${eth.maxLeverage}x`);
 * ```
 */
export async function getMarkets(ctx: ClientContext, parameters: GetMarketsParameters = {}): Promise<GetMarketsReturnType> {
  const { blockTag } = parameters;
  const views = await withPerpErrors(() => ctx.lens.markets({ blockTag }));
  return Promise.all(
    views.map(async (view) => {
      const id = Number(view.marketId);
      const p = view.params;
      const st = view.state;
      const params = {
        skewScale: p.skewScale,
        initialMarginRatio: p.initialMarginRatio,
        maintenanceMarginRatio: p.maintenanceMarginRatio,
        makerFeeRate: p.makerFeeRate,
        takerFeeRate: p.takerFeeRate,
        fundingFactor: p.fundingFactor,
        maxFundingRatePerDay: p.maxFundingRatePerDay,
        maxLongOpenInterest: p.maxLongOpenInterest,
        maxShortOpenInterest: p.maxShortOpenInterest,
        minPositionNotional: p.minPositionNotional,
        keeperRewardRatio: p.keeperRewardRatio,
        insuranceShare: p.insuranceShare,
        maxPnlFactor: p.maxPnlFactor,
      };
      const state = {
        longOpenInterest: st.longOpenInterest,
        shortOpenInterest: st.shortOpenInterest,
        fundingIndex: st.fundingIndex,
        fundingRatePerDay: st.fundingRatePerDay,
        lastFundingTime: st.lastFundingTime,
        entryFundingSum: st.entryFundingSum,
        lastPrice: st.lastPrice,
      };
      return {
        id,
        symbol: ctx.deployment.markets.find((d) => d.id === id)?.symbol ?? `MARKET-${id}`,
        priceFeed: view.priceFeed,
        reduceOnly: view.reduceOnly,
        params,
        state,
        price: view.priceValid ? view.indexPrice : st.lastPrice,
        priceValid: view.priceValid,
        priceUnit: await priceUnit(ctx, id, view.priceFeed),
        maxLeverage: WAD / params.initialMarginRatio,
      };
    }),
  );
}

async function priceUnit(ctx: ClientContext, id: number, feed: string): Promise<bigint> {
  let unit = ctx.priceUnits.get(id);
  if (unit === undefined) {
    unit = await withPerpErrors(() => IPriceFeed__factory.connect(feed, ctx.provider).priceUnit());
    ctx.priceUnits.set(id, unit);
  }
  return unit;
}
