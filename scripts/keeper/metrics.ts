/**
 * The keeper's operations endpoint: Prometheus metrics (`prom-client`, a registry of its own) on `/metrics` and a
 * JSON health check on `/health` (200 when healthy, 503 otherwise), served on 127.0.0.1 only.
 *
 * @example
 * ```ts
 * const metrics = new KeeperMetrics();
 * const keeper = await Keeper.create({ client, metrics });
 * const server = await startOpsServer({ port: 9464, metrics, health: () => keeper.health() });
 * // curl -s 127.0.0.1:9464/metrics; curl -s 127.0.0.1:9464/health
 * ```
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

import { Counter, Gauge, Histogram, Registry } from "prom-client";

import type { KeeperHealth } from "./keeper.js";

/** Counters and gauges the keeper updates; names start with `perp_keeper_`. */
export class KeeperMetrics {
  readonly registry = new Registry();
  readonly scans = this.counter("scans_total", "Scans completed (index synced, health read, units ranked).");
  readonly liquidationsSent = this.counter("liquidations_sent_total", "Liquidation units sent in liquidateMany transactions.");
  readonly liquidationsMined = this.counter("liquidations_mined_total", "Units this keeper liquidated (its Liquidated events).");
  readonly liquidationsFailed = this.counter(
    "liquidations_failed_total",
    "Units in batches that failed: simulation error, sending error, reverted or unmined transaction.",
  );
  readonly rewardsUsd = this.counter("rewards_usd_total", "Keeper rewards credited to this keeper, USD.");
  readonly deleveraged = this.counter("deleveraged_total", "Positions closed with autoDeleverage.");
  readonly rpcErrors = this.counter("rpc_errors_total", "Failed RPC requests (each retry, each failed poll).");
  readonly rateLimited = this.counter("rpc_rate_limited_total", "RPC requests answered with HTTP 429 and retried (after Retry-After, if given).");
  readonly feeBumps = this.counter("fee_bumps_total", "Pending transactions (liquidations, order batches, LP settlements) replaced at their nonce with higher fees.");
  readonly runFailures = this.counter("run_failures_total", "Runs that failed after their retries.");
  readonly indexSize = this.gauge("index_positions", "Open positions in the keeper's index.");
  readonly positionsScanned = this.gauge("positions_scanned", "Positions whose health the last scan read.");
  readonly liquidatable = this.gauge("liquidatable_units", "Liquidatable units the last scan found.");
  readonly lastBlock = this.gauge("last_block", "Block of the last successful scan.");
  readonly headBlock = this.gauge("head_block", "The latest chain head the keeper saw.");
  readonly lastScanTime = this.gauge("last_scan_timestamp_seconds", "Unix time of the last successful scan.");
  readonly scanSeconds = this.gauge("scan_duration_seconds", "Wall time of the last scan.");
  readonly openOrders = this.gauge("open_orders", "Open orders in the keeper's order index.");
  readonly ordersSettled = this.counter("orders_settled_total", "Market orders this keeper settled (its OrderExecuted events).");
  readonly ordersExecuted = this.counter("orders_executed_total", "Trigger orders this keeper executed (its OrderExecuted events).");
  readonly ordersCancelled = new Counter({
    name: "perp_keeper_orders_cancelled_total",
    help: "Orders this keeper cancelled (its OrderCancelled events), by reason: ExecutionFailed, Expired, Voided.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly trailingRatchets = this.counter("trailing_ratchets_total", "Trailing-stop peaks this keeper raised.");
  readonly ordersFailed = this.counter("orders_failed_total", "Orders in order batches that failed: price source, simulation, sending, reverted or unmined.");
  readonly orderFeesUsd = this.counter("order_fees_usd_total", "Order keeper fees credited to this keeper, USD.");
  readonly settleLatencyBlocks = new Histogram({
    name: "perp_keeper_settle_latency_blocks",
    help: "Blocks from the first block a market order was settleable (as this keeper saw it) to its settlement.",
    buckets: [0, 1, 2, 3, 5, 10, 20],
    registers: [this.registry],
  });

  private counter(name: string, help: string): Counter {
    return new Counter({ name: `perp_keeper_${name}`, help, registers: [this.registry] });
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name: `perp_keeper_${name}`, help, registers: [this.registry] });
  }

  /** Everything a finished scan updates. */
  scanned(block: number, indexSize: number, positions: number, liquidatable: number, seconds: number): void {
    this.scans.inc();
    this.lastBlock.set(block);
    this.indexSize.set(indexSize);
    this.positionsScanned.set(positions);
    this.liquidatable.set(liquidatable);
    this.lastScanTime.set(Date.now() / 1000);
    this.scanSeconds.set(seconds);
  }
}

export interface OpsServerOptions {
  /** TCP port on 127.0.0.1 (0: any free port; the server's `port` tells which). */
  readonly port: number;
  readonly metrics: KeeperMetrics;
  readonly health: () => KeeperHealth;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (Prometheus text format) and `GET /health` (JSON) on 127.0.0.1. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (url.pathname === "/health") {
      const health = options.health();
      res.writeHead(health.healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(`${JSON.stringify(health)}\n`);
      return;
    }
    if (url.pathname === "/metrics") {
      options.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": options.metrics.registry.contentType });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`${error instanceof Error ? error.message : String(error)}\n`);
        },
      );
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /health or /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
