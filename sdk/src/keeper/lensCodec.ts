/**
 * `PerpLens.positions` answers decoded straight from the hex.
 *
 * @packageDocumentation
 */
import { getAddress } from "ethers";

import { PerpError } from "../errors.js";
import type { PositionData } from "../valuation.js";
import type { PositionKey } from "./positionIndex.js";

/** A position and its on-chain health as `PerpLens.positions` reports it. */
export interface PositionHealth extends PositionKey {
  readonly position: PositionData;
  readonly isolated: boolean;
  /** False when there is no position any more, or a price its health needs is unavailable (oracle down). */
  readonly healthValid: boolean;
  /** The engine's verdict (false when `healthValid` is false). */
  readonly liquidatable: boolean;
  /** Of the unit: the isolated position, or the whole cross account. */
  readonly equity: bigint;
  readonly equityAtClose: bigint;
  readonly initialMargin: bigint;
  readonly maintenanceMargin: bigint;
  readonly notional: bigint;
  readonly unrealizedPnl: bigint;
  readonly accruedFunding: bigint;
  readonly leverage: bigint;
}

/** Words of one ABI-encoded `PerpLens.PositionView`, a static tuple: trader, market, position (5), isolated, health (9), valid. */
export const VIEW_WORDS = 18;

/**
 * The `PositionView` whose first word is word `b` of `hex` (no `0x`). The trader comes back lowercase: checksumming
 * costs a keccak per address, and every key the keeper compares is lowercase.
 * @throws PerpError when a bool word is neither 0 nor 1.
 */
export function decodeViewAt(hex: string, b: number, checksum = false): PositionHealth {
  const word = (i: number) => hex.slice(i * 64, i * 64 + 64);
  const uint = (i: number) => BigInt(`0x${word(i)}`);
  const int = (i: number) => BigInt.asIntN(256, uint(i));
  const bool = (i: number) => {
    const v = uint(i);
    if (v > 1n) throw new PerpError(`PerpLens: word ${i} is not a bool`);
    return v === 1n;
  };
  const healthValid = bool(b + 17);
  return {
    trader: checksum ? getAddress(`0x${word(b).slice(24)}`) : `0x${word(b).slice(24)}`,
    marketId: Number(uint(b + 1)),
    position: { size: int(b + 2), entryPrice: uint(b + 3), lastFundingIndex: int(b + 4), margin: uint(b + 5) },
    isolated: bool(b + 7),
    equity: int(b + 8),
    equityAtClose: int(b + 9),
    initialMargin: uint(b + 10),
    maintenanceMargin: uint(b + 11),
    notional: uint(b + 12),
    unrealizedPnl: int(b + 13),
    accruedFunding: int(b + 14),
    leverage: uint(b + 15),
    liquidatable: healthValid && bool(b + 16),
    healthValid,
  };
}

/**
 * Decodes the return data of `PerpLens.positions` directly from the hex, checked against the ABI layout: about 20
 * times faster than ethers' generic decoder (0.4 ms a view). Traders come back checksummed, as ethers gives them.
 * @throws PerpError when the data does not have the layout of `expected` views.
 * @example decodePositionViews(await provider.call({ to: lens, data }), keys.length)
 */
export function decodePositionViews(data: string, expected: number): PositionHealth[] {
  const hex = data.startsWith("0x") ? data.slice(2) : data;
  if (hex.length < 128 || BigInt(`0x${hex.slice(0, 64)}`) !== 32n) throw new PerpError("PerpLens.positions: unexpected return data");
  const count = Number(BigInt(`0x${hex.slice(64, 128)}`));
  if (count !== expected || hex.length !== (2 + count * VIEW_WORDS) * 64) {
    throw new PerpError(`PerpLens.positions: ${count} views in ${hex.length / 64} words for ${expected} positions`);
  }
  const views: PositionHealth[] = new Array(count);
  for (let k = 0; k < count; k++) views[k] = decodeViewAt(hex, 2 + k * VIEW_WORDS, true);
  return views;
}
