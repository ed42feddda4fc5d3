import { useId, useMemo, useRef, useState } from "react";

import {
  explainRejection,
  formatPercent,
  formatPrice,
  formatSize,
  formatUsd,
  formatWad,
  priceImpact,
  quoteFromSnapshot,
  sendOrder,
  toWad,
  type PerpClient,
  type Snapshot,
  type TradeQuote,
  type TradeRequest,
} from "@perp/sdk";

import type { Actions } from "./App";
import { describeError } from "./errors";

interface Review {
  readonly quote: TradeQuote;
  readonly stopLoss?: string;
  readonly takeProfit?: string;
}

/**
 * With a wallet, `client` and `actions` trade. Without one (`connect` given: the call to action shown in place of the
 * Review button), the ticket quotes margin × leverage for a new account that deposits the margin and the order's
 * keeper fees, from the read-only client's snapshot.
 */
type TicketProps = { snapshot: Snapshot; marketId: number; busy: boolean } & (
  | { client: PerpClient; actions: Actions; connect?: undefined }
  | { client?: undefined; actions?: undefined; connect: React.ReactNode }
);

export function OrderTicket(props: TicketProps) {
  const { snapshot, marketId, busy, connect } = props;
  const market = snapshot.markets.get(marketId)!;
  const base = market.symbol.split("-")[0];
  const [side, setSide] = useState<"long" | "short">("long");
  const [chosenSizing, setSizing] = useState<"margin" | "size">("margin");
  const sizing = connect === undefined ? chosenSizing : "margin";
  const [margin, setMargin] = useState("100");
  const [size, setSize] = useState("0.1");
  const [leverage, setLeverage] = useState(5);
  const [isolated, setIsolated] = useState(false);
  const [slippage, setSlippage] = useState("0.5");
  const [stopLoss, setStopLoss] = useState("");
  const [takeProfit, setTakeProfit] = useState("");
  const [review, setReview] = useState<Review>();
  const [pending, setPending] = useState<string>();
  const id = useId();
  const reviewButton = useRef<HTMLButtonElement>(null);
  const maxLeverage = Number(market.maxLeverage);

  const request: TradeRequest = useMemo(
    () => ({
      market: marketId,
      side,
      ...(sizing === "size" ? { size } : { margin, leverage: String(leverage) }),
      isolated,
      slippage: `${slippage}%`,
      ...(stopLoss.trim() !== "" ? { stopLoss } : {}),
      ...(takeProfit.trim() !== "" ? { takeProfit } : {}),
    }),
    [marketId, side, sizing, size, margin, leverage, isolated, slippage, stopLoss, takeProfit],
  );
  const result = useMemo((): { quote?: TradeQuote; deposit?: bigint; problem?: string } => {
    try {
      if (connect === undefined) return { quote: quoteFromSnapshot(snapshot, request) };
      // No account: the escrowed keeper fees are the SDK's (a first quote's orderFees), the deposit the margin plus them.
      const deposit = toWad(margin) + quoteFromSnapshot(snapshot, request).orderFees;
      return { quote: quoteFromSnapshot({ ...snapshot, account: { ...snapshot.account, crossBalance: deposit } }, request), deposit };
    } catch (error) {
      return { problem: describeError(error) ?? "" };
    }
  }, [snapshot, request, connect, margin]);
  const quote = result.quote;
  const problem = result.problem ?? (quote?.rejection === undefined ? undefined : explainRejection(quote.rejection));

  // Keyboard users land on the dialog's Confirm when it opens and back on Review when they leave it, so neither
  // opening nor closing the review loses their place on the page.
  const back = () => {
    setReview(undefined);
    reviewButton.current?.focus();
  };
  const confirm = async (r: Review) => {
    setReview(undefined);
    const { client, actions } = props;
    if (client === undefined) return;
    await actions.run(`${r.quote.sizeDelta > 0n ? "Long" : "Short"} ${r.quote.symbol}`, async () => {
      const { outcome, order } = await sendOrder(client, {
        quote: r.quote,
        stopLoss: r.stopLoss,
        takeProfit: r.takeProfit,
        settle: "keeper",
        // The keeper settles within a block or two: look for the settlement four times a second.
        pollMs: 250,
        onCommitted: (o) => {
          setPending(`Order #${o.orderId} is waiting for a keeper: it settles at the first price published after ${new Date(Number(o.settleableAt) * 1000).toLocaleTimeString()}.`);
          actions.notify({ kind: "pending", text: `Order #${o.orderId} committed; waiting for a keeper to settle it…` });
          void actions.refresh();
        },
      }).finally(() => setPending(undefined));
      const fill = outcome?.status === "executed" && outcome.execution ? outcome.execution.fillPrice : r.quote.fillPrice;
      return `Order #${order.orderId} filled: ${r.quote.sizeDelta > 0n ? "long" : "short"} ${formatSize(abs(r.quote.sizeDelta))} ${base} at ${formatPrice(fill)}.`;
    });
  };

  return (
    <section className="card ticket" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Order</h2>
      <div className="segmented" role="group" aria-label="Side">
        <button className="long" aria-pressed={side === "long"} onClick={() => setSide("long")}>Long</button>
        <button className="short" aria-pressed={side === "short"} onClick={() => setSide("short")}>Short</button>
      </div>
      <div className="segmented" role="group" aria-label="Margin mode">
        <button aria-pressed={!isolated} onClick={() => setIsolated(false)}>Cross</button>
        <button aria-pressed={isolated} onClick={() => setIsolated(true)}>Isolated</button>
      </div>
      {connect === undefined && (
        <div className="segmented" role="group" aria-label="Sizing">
          <button aria-pressed={sizing === "margin"} onClick={() => setSizing("margin")}>Margin × leverage</button>
          <button aria-pressed={sizing === "size"} onClick={() => setSizing("size")}>Size</button>
        </div>
      )}
      {sizing === "margin" ? (
        <>
          <label>
            Margin (USD)
            <input inputMode="decimal" value={margin} onChange={(e) => setMargin(e.target.value)} />
          </label>
          <label>
            Leverage: {leverage}×
            <input type="range" min={1} max={maxLeverage} step={1} value={leverage} onChange={(e) => setLeverage(Number(e.target.value))} />
          </label>
        </>
      ) : (
        <label>
          Size ({base})
          <input inputMode="decimal" value={size} onChange={(e) => setSize(e.target.value)} />
        </label>
      )}
      <div className="row3">
        <label>
          Slippage (%)
          <input inputMode="decimal" value={slippage} onChange={(e) => setSlippage(e.target.value)} />
        </label>
        <label>
          Stop-loss (USD)
          <input inputMode="decimal" value={stopLoss} placeholder="none" onChange={(e) => setStopLoss(e.target.value)} />
        </label>
        <label>
          Take-profit (USD)
          <input inputMode="decimal" value={takeProfit} placeholder="none" onChange={(e) => setTakeProfit(e.target.value)} />
        </label>
      </div>
      {quote && <QuoteSummary quote={quote} base={base} testid="quote" />}
      {problem !== undefined && problem !== "" && (
        <p className="rejection" role="alert" data-testid="rejection">
          {problem}
        </p>
      )}
      {pending && (
        <p className="pending" role="status" data-testid="pending-order">
          {pending}
        </p>
      )}
      {result.deposit !== undefined && (
        <p className="basis" data-testid="quote-basis">
          Quoted for a new account that deposits {formatUsd(result.deposit)}: the margin and the order's keeper fees.
        </p>
      )}
      {connect !== undefined ? (
        connect
      ) : (
      <button
        ref={reviewButton}
        className={`primary ${side}`}
        disabled={busy || quote === undefined || problem !== undefined}
        onClick={() => quote && setReview({ quote, stopLoss: request.stopLoss as string | undefined, takeProfit: request.takeProfit as string | undefined })}
      >
        Review {side} {market.symbol}
      </button>
      )}
      {review && (
        <div
          className="review"
          role="dialog"
          aria-modal="false"
          aria-labelledby={`${id}-r`}
          data-testid="review"
          onKeyDown={(e) => {
            if (e.key === "Escape") back();
          }}
        >
          <h3 id={`${id}-r`}>
            Confirm: {review.quote.sizeDelta > 0n ? "long" : "short"} {formatSize(abs(review.quote.sizeDelta))} {base}, {review.quote.isolated ? "isolated" : "cross"}
          </h3>
          <QuoteSummary quote={review.quote} base={base} testid="review-quote" />
          <p>The order is filled at the first price published at least {String(review.quote.settlement?.minDelay ?? 0n)} s after you send it, no worse than {formatPrice(review.quote.acceptablePrice)}.</p>
          <div className="actions">
            <button className="primary" autoFocus onClick={() => void confirm(review)}>Confirm</button>
            <button onClick={back}>Back</button>
          </div>
        </div>
      )}
    </section>
  );
}

function QuoteSummary({ quote, base, testid }: { quote: TradeQuote; base: string; testid: string }) {
  const rows: Array<[string, string, string]> = [
    ["Size", `${formatSize(abs(quote.sizeDelta))} ${base}`, "size"],
    ["Fill price", formatPrice(quote.fillPrice), "fill"],
    ["Price impact", formatPercent(priceImpact(quote)), "impact"],
    ["Notional", formatUsd(quote.notional), "notional"],
    ["Trading fee", formatUsd(quote.fee), "fee"],
    ["Keeper fees", formatUsd(quote.orderFees), "keeper-fee"],
    [quote.isolated ? "Margin moved" : "Margin (cross)", quote.isolated ? formatUsd(quote.marginDelta) : "from your cross balance", "margin"],
    ["Leverage", `${formatWad(quote.leverage, 0, 2)}×`, "leverage"],
    [
      "Est. liquidation price",
      quote.liquidationPrice === 0n ? "none" : `${formatPrice(quote.liquidationPrice)} (${formatPercent(quote.liquidationDistance)} away)`,
      "liq",
    ],
    ["Funding per day", `${formatPercent(quote.fundingRatePerDay, 4)} → ${formatPercent(quote.fundingRatePerDayAfter, 4)}`, "funding"],
    ["Acceptable price", formatPrice(quote.acceptablePrice), "acceptable"],
  ];
  if (quote.stopLoss) rows.push(["At the stop-loss", `${formatUsd(quote.stopLoss.net)}`, "at-stop"]);
  if (quote.takeProfit) rows.push(["At the take-profit", `${formatUsd(quote.takeProfit.net)}`, "at-target"]);
  return (
    <>
      <dl className="summary" data-testid={testid}>
        {rows.map(([k, v, t]) => (
          <div key={t}>
            <dt>{k}</dt>
            <dd data-testid={`${testid}-${t}`}>{v}</dd>
          </div>
        ))}
      </dl>
      {quote.warnings.map((w) => (
        <p className="warning" key={w}>{w}</p>
      ))}
    </>
  );
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

