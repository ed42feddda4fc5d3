/**
 * Gas used per kind of operation, from the receipts of the demo's own transactions: each transaction is named from
 * its target and decoded calldata (and, for a trade's settlement, from its `PositionModified` event: open, increase,
 * reduce, close, flip; cross or isolated). A trade is two transactions: the trader's commit and the keeper's
 * settlement (which verifies the Pyth price and executes the trade).
 */
import { getAddress, type Interface, type Provider, type TransactionReceipt } from "ethers";

import type { Deployment } from "@perp/sdk";
import {
  LiquidityVault__factory,
  MockUSDC__factory,
  OrderBook__factory,
  PerpEngine__factory,
} from "@perp/sdk/contracts";

export interface GasRow {
  readonly operation: string;
  readonly count: number;
  readonly total: bigint;
  readonly min: bigint;
  readonly max: bigint;
}

const engineInterface = PerpEngine__factory.createInterface();
const vaultInterface = LiquidityVault__factory.createInterface();
const tokenInterface = MockUSDC__factory.createInterface();
const bookInterface = OrderBook__factory.createInterface();

function functionName(iface: Interface, data: string): string | undefined {
  try {
    return iface.parseTransaction({ data })?.name;
  } catch {
    return undefined;
  }
}

function tradeKind(receipt: TransactionReceipt, engine: string, prefix = "trade"): string {
  for (const log of receipt.logs) {
    if (getAddress(log.address) !== engine) continue;
    const parsed = engineInterface.parseLog(log);
    if (parsed?.name !== "PositionModified") continue;
    const { sizeDelta, newSize, isolated } = parsed.args as unknown as {
      sizeDelta: bigint;
      newSize: bigint;
      isolated: boolean;
    };
    const oldSize = newSize - sizeDelta;
    const mode = isolated ? "isolated" : "cross";
    const kind =
      oldSize === 0n
        ? "open"
        : newSize === 0n
          ? "close"
          : oldSize > 0n !== newSize > 0n
            ? "flip"
            : (newSize > 0n ? newSize : -newSize) > (oldSize > 0n ? oldSize : -oldSize)
              ? "increase"
              : "reduce";
    return `${prefix}: ${kind} (${mode})`;
  }
  return prefix;
}

function classify(
  tx: { to: string | null; data: string },
  receipt: TransactionReceipt,
  deployment: Deployment,
  deploymentBlocks: { from: number; to: number } | undefined,
): string {
  const inDeployment =
    deploymentBlocks !== undefined && receipt.blockNumber >= deploymentBlocks.from && receipt.blockNumber <= deploymentBlocks.to;
  if (tx.to === null) return "deploy: create contract";
  const to = getAddress(tx.to);
  const { PerpEngine, LiquidityVault, CollateralToken } = deployment.contracts;
  if (inDeployment) return "deploy: set-up call";
  if (to === getAddress(PerpEngine)) {
    const name = functionName(engineInterface, tx.data) ?? "call";
    if (name === "trade") return tradeKind(receipt, to);
    if (name === "liquidateMany") {
      const units = receipt.logs.filter(
        (log) => getAddress(log.address) === to && engineInterface.parseLog(log)?.name === "Liquidated",
      ).length;
      return `liquidateMany (${units} unit${units === 1 ? "" : "s"})`;
    }
    const names: Record<string, string> = {
      deposit: "deposit (cross balance)",
      withdraw: "withdraw (cross balance)",
      addMargin: "add isolated margin",
      removeMargin: "remove isolated margin",
      liquidate: "liquidate",
    };
    return names[name] ?? `engine.${name}`;
  }
  if (to === getAddress(LiquidityVault)) {
    const name = functionName(vaultInterface, tx.data) ?? "call";
    if (name === "requestDeposit") return "LP deposit request (vault)";
    if (name === "settleDeposit") return "LP deposit settle (keeper)";
    if (name === "deposit" || name === "mint") return "LP deposit claim (vault)";
    if (name === "requestRedeem") return "LP redeem request (vault)";
    if (name === "settleRedeem") return "LP redeem settle (keeper)";
    return name === "withdraw" || name === "redeem" ? "LP withdraw claim (vault)" : `vault.${name}`;
  }
  if (to === getAddress(CollateralToken)) {
    const name = functionName(tokenInterface, tx.data) ?? "call";
    return name === "mint" ? "mint MockUSDC (faucet)" : name === "approve" ? "approve USDC" : `USDC.${name}`;
  }
  if (deployment.contracts.OrderBook !== undefined && to === getAddress(deployment.contracts.OrderBook)) {
    const name = functionName(bookInterface, tx.data) ?? "call";
    if (name === "commitOrder") return "trade: commit market order";
    if (name === "settleOrder" || name === "settleOrders") return tradeKind(receipt, getAddress(PerpEngine), "trade: settle + execute");
    if (name === "executeOrder" || name === "executeOrders") return tradeKind(receipt, getAddress(PerpEngine), "trigger order: execute");
    if (name === "pokePrices") return "oracle price update (pokePrices)";
    const names: Record<string, string> = {
      placeTriggerOrder: "trigger order: place",
      updateTriggerOrder: "trigger order: update",
      placeBracket: "trigger order: place bracket",
      cancelOrder: "order: cancel",
      ratchetTrailingStop: "trailing stop: ratchet",
    };
    return names[name] ?? `book.${name}`;
  }
  return "other";
}

/**
 * Gas per operation over blocks [from, to], counting only transactions sent by `senders`. `deploymentBlocks`: the
 * blocks of this run's deployment, whose calls are counted as set-up.
 */
export async function gasByOperation(args: {
  provider: Provider;
  deployment: Deployment;
  from: number;
  to: number;
  senders: readonly string[];
  deploymentBlocks?: { from: number; to: number };
}): Promise<GasRow[]> {
  const { provider, deployment, from, to, deploymentBlocks } = args;
  const senders = new Set(args.senders.map((s) => getAddress(s)));
  const rows = new Map<string, GasRow>();
  for (let n = from; n <= to; n++) {
    const block = await provider.getBlock(n, true);
    if (block === null) throw new Error(`block ${n} not found`);
    for (const tx of block.prefetchedTransactions) {
      if (!senders.has(getAddress(tx.from))) continue;
      const receipt = await provider.getTransactionReceipt(tx.hash);
      if (receipt === null) throw new Error(`no receipt for ${tx.hash}`);
      const operation = classify(tx, receipt, deployment, deploymentBlocks);
      const gas = receipt.gasUsed;
      const row = rows.get(operation);
      rows.set(
        operation,
        row === undefined
          ? { operation, count: 1, total: gas, min: gas, max: gas }
          : {
              operation,
              count: row.count + 1,
              total: row.total + gas,
              min: gas < row.min ? gas : row.min,
              max: gas > row.max ? gas : row.max,
            },
      );
    }
  }
  return [...rows.values()];
}
