import { expect } from "chai";
import { Interface, type EventFragment, type ParamType } from "ethers";

import {
  CROSS,
  decodeLog,
  decodeReceipt,
  eventsNamed,
  getPerpEvents,
  liquidatedMarket,
  liquidationDetails,
  liquidationEvents,
  tradeExecutions,
  type PerpEvent,
} from "@perp/sdk";
import { LiquidityVault__factory, PerpEngine__factory } from "@perp/sdk/contracts";
import { deployProtocol, ETH, ORACLE_UNIT, usdc, wad } from "../../scripts/lib/fixture.js";
import { ethers, networkHelpers } from "../../scripts/lib/network.js";

const ENGINE = "0x00000000000000000000000000000000000000e1";
const VAULT = "0x00000000000000000000000000000000000000e2";

/** A value of an ABI type, different per position so a swapped field shows. */
function sample(type: ParamType, seed: number): unknown {
  if (type.baseType === "tuple") return type.components!.map((c, i) => sample(c, seed * 10 + i));
  if (type.baseType === "array") return [sample(type.arrayChildren!, seed)];
  if (type.type === "address") return ethers.getAddress(`0x${(seed + 1).toString(16).padStart(40, "0")}`);
  if (type.type === "bool") return seed % 2 === 0;
  if (type.type === "string") return `s${seed}`;
  if (type.type.startsWith("bytes")) return ethers.zeroPadValue(ethers.toBeHex(seed + 1), Number(type.type.slice(5)) || 32);
  if (type.type.startsWith("int")) return -BigInt(seed + 1);
  return BigInt(seed + 1);
}

/** Plain values of a decoded argument (ethers `Result`s of structs as arrays). */
function plain(value: unknown): unknown {
  if (value && typeof value === "object" && "toArray" in value) return (value as { toArray(): unknown[] }).toArray().map(plain);
  return value;
}

describe("SDK: event decoder", function () {
  it("decodes every event of the engine's and the vault's ABI into a record named after it, every field by name", function () {
    const sources = { engine: ENGINE, vault: VAULT };
    const decoded: string[] = [];
    let expected = 0;
    for (const [contract, address, iface] of [
      ["engine", ENGINE, PerpEngine__factory.createInterface() as Interface],
      ["vault", VAULT, LiquidityVault__factory.createInterface() as Interface],
    ] as const) {
      iface.forEachEvent((fragment: EventFragment, i: number) => {
        expected += 1;
        const values = fragment.inputs.map((input, k) => sample(input, i * 100 + k));
        const { data, topics } = iface.encodeEventLog(fragment, values);
        const event = decodeLog({ address, topics, data, blockNumber: 7, index: i, transactionHash: ethers.ZeroHash }, sources);
        expect(event, fragment.format()).to.not.equal(undefined);
        const record = event as unknown as Record<string, unknown>;
        expect(record.name).to.equal(fragment.name);
        expect(record.contract).to.equal(contract);
        expect([record.address, record.blockNumber, record.logIndex]).to.deep.equal([address, 7, i]);
        fragment.inputs.forEach((input, k) => expect(plain(record[input.name]), `${fragment.name}.${input.name}`).to.deep.equal(values[k]));
        decoded.push(`${contract}.${fragment.name}`);
      });
    }
    expect(decoded.length).to.equal(expected);
    expect(decoded).to.include.members(["engine.PositionModified", "engine.Liquidated", "engine.AutoDeleveraged", "vault.Deposit"]);
    // Another contract's log, or an unknown topic, is not a protocol event.
    const iface = PerpEngine__factory.createInterface();
    const { data, topics } = iface.encodeEventLog("Deposited", [ENGINE, 5n]);
    expect(decodeLog({ address: VAULT.replace("e2", "e3"), topics, data, blockNumber: 1, index: 0, transactionHash: ethers.ZeroHash }, sources)).to.equal(undefined);
    expect(decodeLog({ address: ENGINE, topics: [ethers.ZeroHash], data: "0x", blockNumber: 1, index: 0, transactionHash: ethers.ZeroHash }, sources)).to.equal(undefined);
  });

  it("reads a trade and a cross liquidation with bad debt from receipts and from the chain, in chain order", async function () {
    const p = await networkHelpers.loadFixture(deployProtocol);
    const from = await ethers.provider.getBlockNumber();
    const deposit = await (await p.engine.connect(p.alice).deposit(usdc(1000))).wait();
    const open = await (await p.engine.connect(p.alice).trade(ETH, wad(5), wad(2100), 0n, false)).wait();
    await p.eth.aggregator.setAnswer(wad(1800) / ORACLE_UNIT);
    const liquidation = await (await p.engine.connect(p.keeper).liquidate(p.alice, ETH, [])).wait();

    // A receipt: the same names, in log order, as ethers' own decoding of each engine log.
    const engine = p.engine.interface;
    const names = (receipt: typeof open) =>
      receipt!.logs.filter((l) => l.address === p.deployment.contracts.PerpEngine).map((l) => engine.parseLog(l)!.name);
    expect(decodeReceipt(open!, p.deployment).map((e) => e.name)).to.deep.equal(names(open));
    expect(decodeReceipt(liquidation!, p.deployment).map((e) => e.name)).to.deep.equal(names(liquidation));

    const [executed] = tradeExecutions(open!, p.deployment);
    const [modified] = eventsNamed(decodeReceipt(open!, p.deployment), "PositionModified");
    expect(executed).to.deep.include({ trader: p.alice.address, marketId: 0, sizeDelta: wad(5), newSize: wad(5), isolated: false });
    expect(executed.fillPrice).to.equal(modified.fillPrice);
    // fill = 2000 x (1 + 2.5 / 1e6) for 5 ETH against an empty book of skew scale 1e6; fee 0.05 % of notional.
    expect(modified.fillPrice).to.equal(wad("2000.005"));
    expect(modified.fee).to.equal(wad("5.0000125"));

    const [liquidated] = liquidationEvents(liquidation!, p.deployment);
    expect(liquidated.marketId).to.equal(undefined);
    expect(liquidated.keeper).to.equal(p.keeper.address);
    expect(liquidatedMarket(CROSS)).to.equal(undefined);
    expect(liquidatedMarket(3n)).to.equal(3);

    // From the chain: every engine and vault event of the range, grouped per liquidation.
    const to = await ethers.provider.getBlockNumber();
    const events: PerpEvent[] = await getPerpEvents(ethers.provider, p.deployment, { fromBlock: from + 1, toBlock: to, chunk: 1 });
    const fromReceipts = [deposit, open, liquidation].flatMap((r) => decodeReceipt(r!, p.deployment));
    expect(events.map((e) => [e.name, e.txHash, e.logIndex])).to.deep.equal(fromReceipts.map((e) => [e.name, e.txHash, e.logIndex]));
    expect(eventsNamed(events, "Deposited")[0]).to.deep.include({ account: p.alice.address, amount: usdc(1000) });
    const only = await getPerpEvents(ethers.provider, p.deployment, { fromBlock: from + 1, toBlock: to, names: ["Liquidated", "BadDebtCovered"] });
    expect(only.map((e) => e.name)).to.deep.equal(["BadDebtCovered", "Liquidated"]);
    const [detail] = liquidationDetails(events);
    expect(detail.event.marketId).to.equal(CROSS);
    expect(detail.closes.map((c) => [c.trader, c.marketId, c.size])).to.deep.equal([[p.alice.address, ETH, wad(5)]]);
    // Under water: the keeper is still paid (0.1 % of notional), and the shortfall covers it and the deficit.
    expect(detail.event.equity < 0n).to.equal(true);
    expect(detail.event.keeperReward).to.equal(wad(9));
    expect(detail.badDebt?.shortfall).to.equal(detail.event.keeperReward - detail.event.equity);
  });
});
