import { Fragment, useEffect, useId, useState } from "react";
import { MaxUint256 } from "ethers";

import {
  formatDecimal,
  formatPercent,
  formatPrice,
  formatSize,
  formatTokenUnits,
  formatUsd,
  getPriceTimes,
  InvalidRequestError,
  accountSummary,
  quoteMarginChange,
  toWad,
  type MarginChangeQuote,
  type MarketInfo,
  type OrderInfo,
  type PerpClient,
  type PositionInfo,
  type Snapshot,
} from "@perp/sdk";

import type { Actions, ChainData } from "./App";
import { describeError } from "./errors";

interface PanelProps {
  readonly client: PerpClient;
  readonly data: ChainData;
  readonly actions: Actions;
  readonly busy: boolean;
}

export function MarketHeader({ market, snapshot, client }: { market: MarketInfo; snapshot: Snapshot; client: PerpClient }) {
  const [age, setAge] = useState<bigint>();
  useEffect(() => {
    let live = true;
    getPriceTimes(client, { blockTag: snapshot.blockNumber }).then(
      (times) => live && setAge(snapshot.now - (times.get(market.id) ?? snapshot.now)),
      () => live && setAge(undefined),
    );
    return () => {
      live = false;
    };
  }, [client, snapshot, market.id]);
  const rate = market.state.fundingRatePerDay;
  const base = market.symbol.split("-")[0];
  const skew = market.state.longOpenInterest - market.state.shortOpenInterest;
  const payer = rate > 0n ? "longs pay shorts" : rate < 0n ? "shorts pay longs" : "nobody pays";
  return (
    <section className="card header" aria-label={`${market.symbol} market`} data-testid="market-header">
      <h2>{market.symbol}</h2>
      <Stat label="Index price" testid="index">
        {formatPrice(market.price)}{" "}
        <small data-testid="oracle-age">
          {market.priceValid ? (age === undefined ? "" : `oracle ${String(age)} s ago`) : "oracle price stale: trading paused"}
        </small>
      </Stat>
      <Stat label="Funding / day" testid="funding">
        {formatPercent(rate, 4)} <small>{payer}</small>
      </Stat>
      <Stat label="Open interest" testid="oi">
        {formatSize(market.state.longOpenInterest)} long / {formatSize(market.state.shortOpenInterest)} short {base}
      </Stat>
      <Stat label="Skew" testid="skew">
        {skew >= 0n ? "+" : "−"}
        {formatSize(skew < 0n ? -skew : skew)} {base}
      </Stat>
      <Stat label="Max leverage" testid="max-leverage">
        {String(market.maxLeverage)}×
      </Stat>
      {market.reduceOnly && <p role="alert">Reduce-only: this market only accepts trades that shrink positions.</p>}
    </section>
  );
}

function Stat({ label, testid, children }: { label: string; testid: string; children: React.ReactNode }) {
  return (
    <div className="stat">
      <span className="label">{label}</span>
      <span data-testid={`header-${testid}`}>{children}</span>
    </div>
  );
}

export function AccountPanel({
  client,
  data,
  actions,
  busy,
  faucet,
  gasFaucet,
}: PanelProps & { faucet?: () => Promise<void>; gasFaucet?: { readonly name: string; readonly url: string } }) {
  const [amount, setAmount] = useState("1000");
  const id = useId();
  // The SDK's account summary from the page's snapshot: free collateral by the engine's debit rule, and the health
  // of the weakest unit (the cross account or an isolated position).
  const summary = accountSummary(data.snapshot);
  const health = Number(formatDecimal(summary.health, 18, 0, 4));
  const healthText = summary.units.length === 0 ? "no open position" : `${formatPercent(summary.health, 0)}${summary.liquidatable ? ": liquidatable" : ""}`;
  return (
    <section className="card account" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Account</h2>
      <dl className="summary">
        <div>
          <dt>Wallet USDC</dt>
          <dd data-testid="wallet-usdc">{formatTokenUnits(data.walletUsdc, 6, 2)}</dd>
        </div>
        <div>
          <dt>Cross balance</dt>
          <dd data-testid="cross-balance">{formatUsd(data.snapshot.account.crossBalance)}</dd>
        </div>
        <div>
          <dt>Free collateral</dt>
          <dd data-testid="free-collateral">{formatUsd(summary.freeCollateral)}</dd>
        </div>
        {summary.units.length > 0 && (
          <>
            <div>
              <dt>Cross equity / maintenance</dt>
              <dd data-testid="cross-equity">
                {formatUsd(summary.cross.equity)} / {formatUsd(summary.cross.maintenanceMargin)}
              </dd>
            </div>
            <div>
              <dt>Isolated margin</dt>
              <dd data-testid="isolated-margin">{formatUsd(summary.isolatedMargin)}</dd>
            </div>
            <div>
              <dt>Total equity</dt>
              <dd data-testid="total-equity">{formatUsd(summary.totalEquity)}</dd>
            </div>
          </>
        )}
      </dl>
      <div className="health">
        <span className="label" id={`${id}-health`}>Health (weakest position; 0 % is liquidation)</span>
        <meter aria-labelledby={`${id}-health`} min={0} max={1} low={0.25} high={0.5} optimum={1} value={health} data-testid="health-bar" />
        <span data-testid="health-text">{healthText}</span>
      </div>
      <label>
        Amount (USDC)
        <input inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
      </label>
      <div className="actions">
        <button disabled={busy} onClick={() => void actions.run("Deposit", async () => void (await client.deposit(amount)))}>
          Deposit
        </button>
        <button disabled={busy} onClick={() => void actions.run("Deposit with permit", async () => void (await client.depositWithPermit(amount)))}>
          Deposit (permit)
        </button>
        <button disabled={busy} onClick={() => void actions.run("Withdraw", async () => void (await client.withdraw(amount)))}>
          Withdraw
        </button>
        {faucet && (
          <button disabled={busy} onClick={() => void faucet()}>
            Faucet
          </button>
        )}
      </div>
      {gasFaucet && (
        <p data-testid="gas-faucet">
          Test ETH for gas: <a href={gasFaucet.url} target="_blank" rel="noreferrer">{gasFaucet.name}</a>. The Faucet button mints test USDC.
        </p>
      )}
    </section>
  );
}

export function Positions({ client, data, actions, busy }: PanelProps) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Positions</h2>
      {data.positions.length === 0 ? (
        <p data-testid="no-positions">No open positions.</p>
      ) : (
        <div className="scroll">
          <table data-testid="positions">
            <thead>
              <tr>
                <th scope="col">Market</th>
                <th scope="col">Side</th>
                <th scope="col">Size</th>
                <th scope="col">Entry</th>
                <th scope="col">Margin</th>
                <th scope="col">PnL</th>
                <th scope="col">Funding paid</th>
                <th scope="col">Liq. price</th>
                <th scope="col">Mode</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.positions.map((p) => (
                <Fragment key={p.marketId}>
                  <PositionRow p={p} client={client} data={data} actions={actions} busy={busy} />
                  {p.isolated && <MarginRow p={p} client={client} data={data} actions={actions} busy={busy} />}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function PositionRow({ p, client, data, actions, busy }: PanelProps & { p: PositionInfo }) {
  const [stop, setStop] = useState("");
  const base = p.symbol.split("-")[0];
  const size = p.size < 0n ? -p.size : p.size;
  const [closeSize, setCloseSize] = useState("");
  // A partial close is a trade against the position, in its own mode; one at or above its size would close or flip
  // it, which is what Close is for.
  const closePart = () =>
    actions.run(`Close part of ${p.symbol}`, async () => {
      if (toWad(closeSize.trim()) >= size) throw new InvalidRequestError(`${closeSize.trim()} ${base} is not less than the position's ${formatSize(size)} ${base}: use Close to close all of it`);
      const { outcome } = await client.trade({ market: p.marketId, side: p.side === "long" ? "short" : "long", size: closeSize.trim(), isolated: p.isolated, settle: "keeper", pollMs: 250 });
      setCloseSize("");
      const at = outcome?.status === "executed" && outcome.execution ? ` at ${formatPrice(outcome.execution.fillPrice)}, PnL ${formatUsd(outcome.execution.realizedPnl)}` : "";
      return `Closed ${closeSize.trim()} ${base} of ${p.symbol}${at}.`;
    });
  const stopOrder = data.orders.find((o) => o.marketId === p.marketId && o.kind === "stop-loss");
  return (
    <tr data-testid={`position-${p.symbol}`}>
      <td>{p.symbol}</td>
      <td className={p.side}>{p.side}</td>
      <td data-testid="pos-size">
        {formatSize(size)} {base}
      </td>
      <td data-testid="pos-entry">{formatPrice(p.entryPrice)}</td>
      <td data-testid="pos-margin">{p.isolated ? formatUsd(p.margin) : "cross"}</td>
      <td data-testid="pos-pnl" className={p.unrealizedPnl < 0n ? "neg" : "pos"}>
        {formatUsd(p.unrealizedPnl)}
      </td>
      <td data-testid="pos-funding">{formatUsd(p.fundingTotal ?? p.accruedFunding)}</td>
      <td data-testid="pos-liq">
        {p.liquidationPrice === 0n ? "none" : `${formatPrice(p.liquidationPrice)} (${formatPercent(p.liquidationDistance)})`}
      </td>
      <td>{p.isolated ? "isolated" : "cross"}</td>
      <td className="row-actions">
        <button disabled={busy} onClick={() => void actions.run(`Close ${p.symbol}`, async () => {
          const { outcome } = await client.closePosition(p.marketId, { settle: "keeper", pollMs: 250 });
          return `Closed ${p.symbol}${outcome?.status === "executed" && outcome.execution ? ` at ${formatPrice(outcome.execution.fillPrice)}, PnL ${formatUsd(outcome.execution.realizedPnl)}` : ""}.`;
        })}>
          Close
        </button>
        <label className="inline">
          <span className="sr-only">Size to close for {p.symbol} ({base})</span>
          <input inputMode="decimal" size={6} placeholder={base} value={closeSize} onChange={(e) => setCloseSize(e.target.value)} />
        </label>
        <button disabled={busy || closeSize.trim() === ""} onClick={() => void closePart()}>
          Close part
        </button>
        <label className="inline">
          <span className="sr-only">Stop-loss price for {p.symbol}</span>
          <input inputMode="decimal" size={7} placeholder={stopOrder ? formatPrice(stopOrder.triggerPrice) : "stop"} value={stop} onChange={(e) => setStop(e.target.value)} />
        </label>
        <button
          disabled={busy || stop.trim() === ""}
          onClick={() =>
            void actions.run("Stop-loss", async () => {
              if (stopOrder) await client.updateTriggerOrder({ orderId: stopOrder.id, triggerPrice: stop });
              else await client.placeTriggerOrder({ market: p.marketId, kind: "stop-loss", triggerPrice: stop });
              setStop("");
            })
          }
        >
          {stopOrder ? "Move stop" : "Set stop"}
        </button>
      </td>
    </tr>
  );
}

/**
 * An isolated position's margin moves, each previewed by the SDK from the page's latest snapshot (the price and
 * state the chain holds now): the new margin, liquidation price and distance and leverage, or the engine's refusal
 * in words, which disables its button.
 */
function MarginRow({ p, client, data, actions, busy }: PanelProps & { p: PositionInfo }) {
  const [amount, setAmount] = useState("10");
  const preview = (action: "add" | "remove"): { quote?: MarginChangeQuote; problem?: string } => {
    if (amount.trim() === "") return {};
    try {
      const quote = quoteMarginChange(data.snapshot, { market: p.marketId, action, amount: amount.trim() });
      return { quote, problem: quote.explanation };
    } catch (error) {
      return { problem: describeError(error) };
    }
  };
  const add = preview("add");
  const remove = preview("remove");
  const describe = (what: string, r: { quote?: MarginChangeQuote; problem?: string }, testid: string) => (
    <span data-testid={testid} className={r.problem ? "rejection" : undefined}>
      {r.problem
        ? `${what}: ${r.problem}`
        : r.quote
          ? `${what}: margin ${formatUsd(r.quote.margin)}, liq. ${r.quote.liquidationPrice === 0n ? "none" : `${formatPrice(r.quote.liquidationPrice)} (${formatPercent(r.quote.liquidationDistance)})`}, leverage ${r.quote.leverage === MaxUint256 ? "unbounded (no equity)" : `${formatDecimal(r.quote.leverage, 18, 2, 2)}×`}`
          : ""}
    </span>
  );
  const send = (action: "add" | "remove") =>
    actions.run(action === "add" ? "Add margin" : "Remove margin", async () => {
      const value = amount.trim();
      if (action === "add") await client.addMargin(p.marketId, value);
      else await client.removeMargin(p.marketId, value);
    });
  return (
    <tr data-testid={`margin-${p.symbol}`} className="margin-row">
      <td colSpan={10}>
        <div className="row-actions">
          <label className="inline">
            <span className="sr-only">Margin amount for {p.symbol} (USD)</span>
            <input inputMode="decimal" size={6} value={amount} onChange={(e) => setAmount(e.target.value)} />
          </label>
          <button disabled={busy || add.quote === undefined || add.problem !== undefined} onClick={() => void send("add")}>
            Add margin
          </button>
          <button disabled={busy || remove.quote === undefined || remove.problem !== undefined} onClick={() => void send("remove")}>
            Remove margin
          </button>
        </div>
        <div className="margin-preview" aria-live="polite">
          {describe("After adding", add, "margin-preview-add")}
          {describe("After removing", remove, "margin-preview-remove")}
        </div>
      </td>
    </tr>
  );
}

export function OpenOrders({ client, data, actions, busy }: PanelProps) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Open orders</h2>
      {data.orders.length === 0 ? (
        <p data-testid="no-orders">No open orders.</p>
      ) : (
        <div className="scroll">
          <table data-testid="orders">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Market</th>
                <th scope="col">Kind</th>
                <th scope="col">Side</th>
                <th scope="col">Size</th>
                <th scope="col">Trigger</th>
                <th scope="col">Keeper fee</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {data.orders.map((o) => (
                <OrderRow key={String(o.id)} o={o} client={client} actions={actions} busy={busy} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function OrderRow({ o, client, actions, busy }: { o: OrderInfo; client: PerpClient; actions: Actions; busy: boolean }) {
  const size = o.sizeDelta < 0n ? -o.sizeDelta : o.sizeDelta;
  const [trigger, setTrigger] = useState("");
  // A trailing stop's trigger follows the price from its peak, so only fixed triggers are edited here.
  const editable = o.kind !== "market" && o.kind !== "trailing-stop";
  return (
    <tr data-testid={`order-${o.kind}`}>
      <td>{String(o.id)}</td>
      <td>{o.symbol}</td>
      <td>{o.kind}{o.ocoPartner !== undefined ? " (OCO)" : ""}</td>
      <td>{o.side}</td>
      <td>{o.closeAll ? "whole position" : formatSize(size)}</td>
      <td data-testid="order-trigger">{o.kind === "market" ? "at the next price" : formatPrice(o.trailingTrigger ?? o.triggerPrice)}</td>
      <td>{formatUsd(o.keeperFee)}</td>
      <td className="row-actions">
        {editable && (
          <>
            <label className="inline">
              <span className="sr-only">New trigger price for order #{String(o.id)} (USD)</span>
              <input inputMode="decimal" size={7} placeholder="price" value={trigger} onChange={(e) => setTrigger(e.target.value)} />
            </label>
            <button
              disabled={busy || trigger.trim() === ""}
              onClick={() =>
                void actions.run(`Update order #${o.id}`, async () => {
                  const updated = await client.updateTriggerOrder({ orderId: o.id, triggerPrice: trigger.trim() });
                  setTrigger("");
                  return `Order #${o.id} now triggers at ${formatPrice(updated.triggerPrice)}.`;
                })
              }
            >
              Update
            </button>
          </>
        )}
        {o.kind !== "market" && (
          <button disabled={busy} onClick={() => void actions.run(`Cancel order #${o.id}`, async () => void (await client.cancelOrder(o.id)))}>
            Cancel
          </button>
        )}
      </td>
    </tr>
  );
}

/** The account's history from the chain's events: trades, funding settlements and liquidations, newest first. */
export function History({ data }: { data: ChainData }) {
  const symbols = new Map([...data.snapshot.markets.values()].map((m) => [m.id, m.symbol]));
  const { trades, funding, liquidations } = data.history;
  const size = (v: bigint) => formatSize(v < 0n ? -v : v);
  return (
    <>
      <HistoryTable title="Trade history" testid="history" empty="No trades yet." rows={[...trades].reverse()} rowKey={(t) => `${t.blockNumber}-${t.logIndex}`}
        columns={[
          ["Block", (t) => t.blockNumber],
          ["Market", (t) => symbols.get(t.marketId)],
          ["Trade", (t) => `${t.sizeDelta > 0n ? "buy" : "sell"} ${size(t.sizeDelta)}`],
          ["Fill", (t) => formatPrice(t.fillPrice)],
          ["Fee", (t) => formatUsd(t.fee)],
          ["Realised PnL", (t) => formatUsd(t.realizedPnl)],
          ["Funding", (t) => formatUsd(t.fundingPaid)],
          ["Size after", (t) => (t.newSize === 0n ? "closed" : formatSize(t.newSize)), "history-size-after"],
        ]}
      />
      <HistoryTable title="Funding" testid="funding-history" empty="No funding settled yet." rows={[...funding].reverse()} rowKey={(f) => `${f.blockNumber}-${f.logIndex}`}
        columns={[
          ["Block", (f) => f.blockNumber],
          ["Market", (f) => symbols.get(f.marketId)],
          // Funding settles in small amounts: six decimals, not cents.
          ["Paid / received", (f) => (f.amount > 0n ? `paid ${formatUsd(f.amount, 6)}` : `received ${formatUsd(-f.amount, 6)}`), "funding-amount"],
          ["Settled by", (f) => (f.cause === "trade" ? "a trade" : f.cause === "liquidation" ? "the liquidation" : "deleveraging"), "funding-cause"],
        ]}
      />
      <HistoryTable title="Liquidations" testid="liquidation-history" empty="No liquidations." rows={[...liquidations].reverse()} rowKey={(l) => `${l.blockNumber}-${l.logIndex}`}
        columns={[
          ["Block", (l) => l.blockNumber],
          ["Unit", (l) => (l.marketId === undefined ? "cross account" : `${symbols.get(l.marketId)} (isolated)`)],
          ["Closed", (l) => l.closes.map((c) => `${symbols.get(c.marketId)} ${size(c.size)} at ${formatPrice(c.price)}`).join(", "), "liquidation-closed"],
          ["Equity", (l) => formatUsd(l.equity), "liquidation-equity"],
          ["Keeper reward", (l) => formatUsd(l.keeperReward)],
          ["Returned to you", (l) => formatUsd(l.traderRemainder), "liquidation-returned"],
          ["Bad debt covered", (l) => formatUsd(l.shortfall)],
        ]}
      />
    </>
  );
}

type Column<T> = readonly [header: string, cell: (row: T) => React.ReactNode, testid?: string];

function HistoryTable<T>({ title, testid, empty, rows, rowKey, columns }: { title: string; testid: string; empty: string; rows: readonly T[]; rowKey: (row: T) => string; columns: readonly Column<T>[] }) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{title}</h2>
      {rows.length === 0 ? (
        <p data-testid={`${testid}-empty`}>{empty}</p>
      ) : (
        <div className="scroll">
          <table data-testid={testid}>
            <thead>
              <tr>
                {columns.map(([header]) => (
                  <th key={header} scope="col">{header}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={rowKey(row)}>
                  {columns.map(([header, cell, cellId]) => (
                    <td key={header} data-testid={cellId}>{cell(row)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
