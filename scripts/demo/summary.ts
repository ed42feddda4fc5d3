/**
 * The demo's closing summary, from the engine's events since the story began and the views at the end:
 * open positions, PnL and funding per trader, LP vault, insurance fund, bad debt, keeper, and gas per operation.
 */
import { math } from "@perp/sdk";
import type { DemoContext } from "./context.js";
import { loadEvents, sameAddress } from "./events.js";
import { gasByOperation } from "./gas.js";
import { integer, liquidationPriceText, percent, price, sharePrice, signedPercent, signedUsd, size, usd } from "./report.js";

const { WAD } = math;

/** What the story recorded along the way. */
export interface StoryMarks {
  /** First block of the story (after the deployment). */
  readonly storyFrom: number;
  /** Blocks of this run's deployment (none when an existing one was used). */
  readonly deploymentBlocks: { from: number; to: number } | undefined;
  /** First block whose transactions the gas table counts. */
  readonly gasFrom: number;
  /** Vault NAV, share price and insurance fund before the first trade. */
  readonly navOpen: bigint;
  readonly sharePriceOpen: bigint;
  readonly insuranceOpen: bigint;
  readonly insuranceFeeShare: bigint;
}

const TOKEN_TO_WAD = 10n ** 12n;

const sum = (values: readonly bigint[]) => values.reduce((a, b) => a + b, 0n);

export async function printSummary(ctx: DemoContext, marks: StoryMarks): Promise<void> {
  const { out, reader, cast, deployment } = ctx;
  const provider = ctx.connection.ethers.provider;
  const latest = await provider.getBlockNumber();
  const events = await loadEvents(provider, deployment, marks.storyFrom, latest);
  out.section("5. Summary");

  // ------------------------------------------------------------------ open positions
  const perTrader = await Promise.all(
    cast.traders.map(async (trader) => {
      const snap = await reader.snapshot(trader.address);
      const positions = await reader.positions(trader.address, snap);
      const cross = await reader.crossHealth(trader.address, snap);
      return { trader, positions, cross };
    }),
  );
  const markets = new Map((await reader.markets()).map((m) => [m.id, m]));
  const positionRows = perTrader.flatMap(({ trader, positions }) =>
    positions.map((p) => [
      trader.name,
      p.symbol,
      p.side,
      p.isolated ? "isolated" : "cross",
      size(p.size < 0n ? -p.size : p.size),
      price(p.entryPrice),
      price(markets.get(p.marketId)?.price ?? 0n),
      signedUsd(p.unrealizedPnl),
      signedUsd(-p.accruedFunding),
      liquidationPriceText(p),
    ]),
  );
  out.print("Positions still open, valued by the SDK at the last index prices (accrued funding: - owed, + receivable):");
  out.print(
    out.table(
      ["Trader", "Market", "Side", "Mode", "Size", "Entry", "Index", "Unrealised\nPnL", "Accrued\nfunding", "Liq.\nprice"],
      positionRows,
      "llllrrrrrr",
    ),
  );

  // ------------------------------------------------------------------ traders
  const traderRows: string[][] = [];
  const totals = { realised: 0n, unrealised: 0n, fees: 0n, paid: 0n, received: 0n, penalties: 0n, badDebt: 0n, net: 0n };
  for (const { trader, positions, cross } of perTrader) {
    const mine = <T extends { trader: string }>(list: readonly T[]) => list.filter((e) => sameAddress(e.trader, trader.address));
    const trades = mine(events.trades);
    const closes = mine(events.closes);
    const realised = sum(trades.map((t) => t.realizedPnl)) + sum(closes.map((c) => c.realizedPnl));
    // Trading fees and the keeper fees of the trader's orders: both come out of the trader's equity.
    const fees = sum(trades.map((t) => t.fee)) + sum(mine(events.orderFees).map((o) => o.keeperFee));
    const fundingFlows = [
      ...trades.map((t) => t.fundingPaid),
      ...closes.map((c) => c.fundingPaid),
      ...positions.map((p) => p.accruedFunding),
    ];
    const paid = sum(fundingFlows.filter((f) => f > 0n));
    const received = -sum(fundingFlows.filter((f) => f < 0n));
    const liquidations = mine(events.liquidations);
    const penalties = sum(liquidations.map((l) => l.keeperReward + l.insurancePaid));
    const badDebt = sum(mine(events.badDebts).map((b) => b.shortfall));
    const unrealised = sum(positions.map((p) => p.unrealizedPnl));
    const equity = cross.equity + sum(positions.filter((p) => p.isolated).map((p) => p.health.equity));
    const deposited =
      sum(events.deposits.filter((d) => sameAddress(d.account, trader.address)).map((d) => d.amount * TOKEN_TO_WAD)) -
      sum(events.withdrawals.filter((w) => sameAddress(w.account, trader.address)).map((w) => w.amount * TOKEN_TO_WAD));
    const net = equity - deposited;
    totals.realised += realised;
    totals.unrealised += unrealised;
    totals.fees += fees;
    totals.paid += paid;
    totals.received += received;
    totals.penalties += penalties;
    totals.badDebt += badDebt;
    totals.net += net;
    traderRows.push([
      trader.name,
      signedUsd(realised),
      signedUsd(unrealised),
      usd(fees),
      usd(paid),
      usd(received),
      `${usd(penalties)}${liquidations.length > 0 ? ` (${liquidations.length})` : ""}`,
      usd(badDebt),
      signedUsd(net),
    ]);
  }
  traderRows.push([
    "Total",
    signedUsd(totals.realised),
    signedUsd(totals.unrealised),
    usd(totals.fees),
    usd(totals.paid),
    usd(totals.received),
    usd(totals.penalties),
    usd(totals.badDebt),
    signedUsd(totals.net),
  ]);
  out.print();
  out.print("PnL per trader (USD; realised, fees (trading and the orders' keeper fees), funding, penalties and bad debt");
  out.print("from the events since the story began, unrealised PnL and accrued funding from the views; net = equity now -");
  out.print("USDC deposited):");
  out.print(
    out.table(
      [
        "Trader",
        "Realised\nPnL",
        "Unrealised\nPnL",
        "Fees",
        "Funding\npaid",
        "Funding\nreceived",
        "Liq.\npenalties",
        "Bad debt\nwritten off",
        "Net\nresult",
      ],
      traderRows,
      "lrrrrrrrr",
    ),
  );
  out.print("Net result = realised + unrealised - fees - funding paid + funding received - liquidation penalties");
  out.print("+ bad debt (the loss beyond a trader's margin, absorbed by the insurance fund and then the vault).");

  // ------------------------------------------------------------------ LPs, insurance, bad debt, keeper
  const [vault, sharePriceEnd, lpDeposits, keeperAccount] = await Promise.all([
    reader.vaultState(),
    reader.vaultSharePrice(),
    reader.vault.queryFilter(reader.vault.filters.Deposit(undefined, cast.lp.address), marks.storyFrom, latest),
    reader.account(cast.keeper.address),
  ]);
  const lpShares = sum(lpDeposits.map((d) => d.args.shares));
  const lpAssetsIn = sum(lpDeposits.map((d) => d.args.assets)) * TOKEN_TO_WAD;
  const lpValue = (await reader.vault.convertToAssets(lpShares)) * TOKEN_TO_WAD;
  const allFees = sum(events.trades.map((t) => t.fee));
  const liquidationShares = sum(events.liquidations.map((l) => l.insurancePaid));
  const badDebtTotal = sum(events.badDebts.map((b) => b.shortfall));
  const fromInsurance = sum(events.badDebts.map((b) => b.fromInsurance));
  const fromVault = sum(events.badDebts.map((b) => b.fromVault));
  const insuranceChange = vault.insuranceFund - marks.insuranceOpen;
  const byOurKeeper = events.liquidations.filter((l) => sameAddress(l.keeper, cast.keeper.address));
  const keeperTxs = new Set(byOurKeeper.map((l) => l.txHash)).size;
  const ourOrders = events.orderFees.filter((o) => sameAddress(o.keeper, cast.keeper.address));
  const navChange = vault.nav - marks.navOpen;
  const rows: string[][] = [
    [
      "LP vault",
      `Trading fees paid by traders (${percent(marks.insuranceFeeShare, 0)} to insurance)`,
      `${usd(allFees)} USD`,
    ],
    ["", "NAV: first trade -> now", `${usd(marks.navOpen)} -> ${usd(vault.nav)} USD`],
    ["", "NAV change", `${signedUsd(navChange)} USD`],
    [
      "",
      "Share price (USDC per pLP share)",
      `${sharePrice(marks.sharePriceOpen)} -> ${sharePrice(sharePriceEnd)} ` +
        `(${signedPercent(((sharePriceEnd - marks.sharePriceOpen) * WAD) / marks.sharePriceOpen, 3)})`,
    ],
    ["", `The LP's ${usd(lpAssetsIn)} USDC deposit is now worth`, `${usd(lpValue)} USDC`],
    ["Insurance fund", "First trade -> now", `${usd(marks.insuranceOpen)} -> ${usd(vault.insuranceFund)} USD`],
    ["", "+ its share of liquidation penalties", signedUsd(liquidationShares)],
    ["", "- bad debt it covered", signedUsd(-fromInsurance)],
    ["", "+ its share of trading fees", signedUsd(insuranceChange - liquidationShares + fromInsurance)],
    ["Bad debt", `Total (BadDebtCovered events: ${events.badDebts.length})`, `${usd(badDebtTotal)} USD`],
    ["", "covered by the insurance fund / the vault", `${usd(fromInsurance)} / ${usd(fromVault)}`],
    [
      "Keeper",
      `Rewards: ${byOurKeeper.length} units liquidated in ${keeperTxs} transactions`,
      `${usd(sum(byOurKeeper.map((l) => l.keeperReward)))} USD`,
    ],
    [
      "",
      `Order fees: ${ourOrders.length} market orders settled`,
      `${usd(sum(ourOrders.map((o) => o.keeperFee)))} USD`,
    ],
    ["", "Keeper's cross balance (withdrawable)", `${usd(keeperAccount.crossBalance)} USD`],
  ];
  out.print();
  out.print("LPs, insurance fund, bad debt and keeper (from the vault's and the engine's views and events):");
  out.print(out.table(["", "Item", "Value"], rows, "llr"));
  out.print(
    "Note: the NAV values the positions still open at the fill their closing trades would get (the skew premium of " +
      "closing them), so traders' net + NAV change + insurance + keeper falls short of zero by that closing premium.",
  );

  // ------------------------------------------------------------------ gas
  const gas = await gasByOperation({
    provider,
    deployment,
    from: marks.gasFrom,
    to: latest,
    senders: [cast.operator, cast.lp, cast.keeper, ...cast.traders].map((a) => a.address),
    deploymentBlocks: marks.deploymentBlocks,
  });
  out.print();
  out.print("Gas used per operation (from the receipts of the demo's transactions):");
  out.print(
    out.table(
      ["Operation", "Txs", "Avg gas", "Min", "Max", "Total gas"],
      [
        ...gas.map((g) => [
          g.operation,
          integer(g.count),
          integer(g.total / BigInt(g.count)),
          integer(g.min),
          integer(g.max),
          integer(g.total),
        ]),
        ["All", integer(gas.reduce((n, g) => n + g.count, 0)), "", "", "", integer(sum(gas.map((g) => g.total)))],
      ],
      "lrrrrr",
    ),
  );
}
