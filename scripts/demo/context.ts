/**
 * What every chapter of the demo shares: the output, the chain, the deployment and the cast of actors. Its own module
 * so that the chapters (run.ts, summary.ts) import the types without importing each other.
 */
import type { NetworkConnection } from "hardhat/types/network";

import type { Deployment, PerpClient } from "@perp/sdk";
import type { HermesPriceSource } from "@perp/sdk/prices";
import type { PriceService } from "../price-service/service.js";
import type { ChainClock, ClockedSigner } from "./chain.js";
import type { LiquidationState } from "./liquidate.js";
import type { Output } from "./report.js";

export interface Actor {
  readonly name: string;
  readonly address: string;
  readonly signer: ClockedSigner;
  readonly client: PerpClient;
}

export interface Cast {
  readonly operator: Actor;
  readonly lp: Actor;
  readonly keeper: Actor;
  readonly traders: readonly Actor[];
  /** Lower-cased address -> name, for every actor. */
  readonly names: ReadonlyMap<string, string>;
}

export interface DemoContext {
  readonly out: Output;
  readonly connection: NetworkConnection;
  readonly deployment: Deployment;
  readonly clock: ChainClock;
  readonly cast: Cast;
  /** Read-only client (no signer) for anyone's positions. */
  readonly reader: PerpClient;
  readonly liquidation: LiquidationState;
  /** The local price service (in process) and the Hermes client that reads it, as every keeper and trader does. */
  readonly prices: { readonly service: PriceService; readonly source: HermesPriceSource };
}
