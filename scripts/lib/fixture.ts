import { ZeroAddress, type Signer } from "ethers";

import {
  ChainlinkPriceFeed__factory,
  LiquidationLogic__factory,
  LiquidationPriceLogic__factory,
  LiquidityVault__factory,
  MarketAdminLogic__factory,
  MockAggregator__factory,
  MockUSDC__factory,
  PerpEngine__factory,
  PerpLens__factory,
} from "@perp/sdk/contracts";
import type { Deployment, MarketParams, ProtocolParams } from "@perp/sdk";
import type { LiquidityVault } from "@perp/sdk/contracts";
import { ethers, networkHelpers } from "./network.js";

export const WAD = 10n ** 18n;
export const USDC = 10n ** 6n;
export const ORACLE_UNIT = 10n ** 10n; // one unit of an 8-decimal feed, in WAD
export const ETH = 0n;
export const BTC = 1n;
export const DAY = 86_400n;

/** Decimal string (or whole number) to WAD, exactly ("0.0005" -> 5e14). */
export function wad(value: string | number | bigint): bigint {
  return ethers.parseUnits(String(value), 18);
}

/** Decimal string (or whole number) to USDC units. */
export function usdc(value: string | number | bigint): bigint {
  return ethers.parseUnits(String(value), 6);
}

/** USD price to an 8-decimal Chainlink answer. */
export function answer(value: string | number): bigint {
  return ethers.parseUnits(String(value), 8);
}

export const PROTOCOL_PARAMS: ProtocolParams = {
  insuranceFeeShare: wad("0.1"),
  vaultBackingRatio: wad("0.1"),
  keeperRewardMin: wad("2"),
  keeperRewardMax: wad("500"),
};

export function ethParams(overrides: Partial<MarketParams> = {}): MarketParams {
  return {
    skewScale: wad("1000000"),
    initialMarginRatio: wad("0.01"),
    maintenanceMarginRatio: wad("0.005"),
    makerFeeRate: wad("0.0002"),
    takerFeeRate: wad("0.0005"),
    fundingFactor: wad("1"),
    maxFundingRatePerDay: wad("0.01"),
    maxLongOpenInterest: wad("100000"),
    maxShortOpenInterest: wad("100000"),
    minPositionNotional: wad("10"),
    keeperRewardRatio: wad("0.001"),
    insuranceShare: wad("0.002"),
    maxPnlFactor: wad("0.5"),
    ...overrides,
  };
}

export function btcParams(overrides: Partial<MarketParams> = {}): MarketParams {
  return ethParams({
    skewScale: wad("50000"),
    maxLongOpenInterest: wad("5000"),
    maxShortOpenInterest: wad("5000"),
    ...overrides,
  });
}

export const MAX_ANSWER = 10n ** 16n; // $100M with 8 decimals

export async function deployFeed(owner: Signer, description: string, price: string, heartbeat = 3600n) {
  const aggregator = await new MockAggregator__factory(owner).deploy(8, description, answer(price));
  const oracle = await new ChainlinkPriceFeed__factory(owner).deploy(aggregator, heartbeat, 0, MAX_ANSWER, ZeroAddress, 0);
  return { aggregator, oracle };
}

export async function deployEngine(owner: Signer, token: string) {
  const liquidation = await new LiquidationLogic__factory(owner).deploy();
  const liquidationPrice = await new LiquidationPriceLogic__factory(owner).deploy();
  const marketAdmin = await new MarketAdminLogic__factory(owner).deploy();
  const engine = await new PerpEngine__factory(
    {
      "project/contracts/libraries/LiquidationLogic.sol:LiquidationLogic": await liquidation.getAddress(),
      "project/contracts/libraries/LiquidationPriceLogic.sol:LiquidationPriceLogic": await liquidationPrice.getAddress(),
      "project/contracts/libraries/MarketAdminLogic.sol:MarketAdminLogic": await marketAdmin.getAddress(),
    },
    owner,
  ).deploy(token, await owner.getAddress(), PROTOCOL_PARAMS);
  return engine;
}

/**
 * The protocol with ETH-USD ($2,000) and BTC-USD ($60,000) listed, an LP with $500,000 in the vault, and four
 * funded traders whose USDC is approved to the engine.
 */
export async function deployProtocol() {
  const [owner, lp, alice, bob, carol, dave, keeper, guardian] = await ethers.getSigners();
  const usdcToken = await new MockUSDC__factory(owner).deploy();
  const engine = await deployEngine(owner, await usdcToken.getAddress());
  const vault = await new LiquidityVault__factory(owner).deploy(usdcToken, engine, DAY, "Perp LP", "pLP");
  await engine.setVault(vault);
  await engine.setGuardian(guardian);
  const eth = await deployFeed(owner, "ETH / USD", "2000");
  const btc = await deployFeed(owner, "BTC / USD", "60000");
  await engine.listMarket(eth.oracle, ethParams());
  await engine.listMarket(btc.oracle, btcParams());
  for (const account of [lp, alice, bob, carol, dave, keeper]) {
    await usdcToken.mint(account, usdc(10_000_000));
    await usdcToken.connect(account).approve(engine, ethers.MaxUint256);
    await usdcToken.connect(account).approve(vault, ethers.MaxUint256);
  }
  await lpDeposit(vault, lp, usdc(500_000));
  const lens = await new PerpLens__factory(owner).deploy(engine);
  const deployment: Deployment = {
    schemaVersion: 1,
    network: "hardhat",
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    deploymentBlock: 0,
    contracts: {
      PerpEngine: await engine.getAddress(),
      LiquidityVault: await vault.getAddress(),
      CollateralToken: await usdcToken.getAddress(),
      LiquidationLogic: ethers.ZeroAddress,
      LiquidationPriceLogic: ethers.ZeroAddress,
      MarketAdminLogic: ethers.ZeroAddress,
      PerpLens: await lens.getAddress(),
    },
    markets: [
      { id: 0, symbol: "ETH-USD", priceFeed: await eth.oracle.getAddress(), aggregator: await eth.aggregator.getAddress() },
      { id: 1, symbol: "BTC-USD", priceFeed: await btc.oracle.getAddress(), aggregator: await btc.aggregator.getAddress() },
    ],
  };
  return { owner, lp, alice, bob, carol, dave, keeper, guardian, usdc: usdcToken, engine, vault, lens, eth, btc, deployment };
}

export type Protocol = Awaited<ReturnType<typeof deployProtocol>>;

/**
 * For tests that just need liquidity: `signer` requests a deposit of `amount` (USDC units, plus the escrowed keeper
 * fee), time moves past `lpSettleDelay`, the signer settles it itself (so the fee comes back to it) and claims the
 * shares (which starts its cooldown). Returns the shares claimed.
 */
export async function lpDeposit(vault: LiquidityVault, signer: Signer, amount: bigint): Promise<bigint> {
  const account = await signer.getAddress();
  const v = vault.connect(signer);
  await v.requestDeposit(amount, account, account);
  await networkHelpers.time.increase(await vault.lpSettleDelay());
  await v.settleDeposit(account);
  const shares = (await vault.claimableDeposit(account)).shares;
  await v["deposit(uint256,address,address)"](amount, account, account);
  return shares;
}

/**
 * The redeem side of `lpDeposit`: requests to redeem `shares`, waits `lpSettleDelay`, settles (fee back to the signer)
 * and claims the assets to `receiver` (default the signer). Returns the assets paid.
 */
export async function lpRedeem(vault: LiquidityVault, signer: Signer, shares: bigint, receiver?: string): Promise<bigint> {
  const account = await signer.getAddress();
  const v = vault.connect(signer);
  await v.requestRedeem(shares, account, account);
  await networkHelpers.time.increase(await vault.lpSettleDelay());
  await v.settleRedeem(account);
  // If the backing limit bound at settle, only part is claimable (the rest stays pending): claim what is.
  const claimable = await vault.claimableRedeem(account);
  await v.redeem(claimable.shares, receiver ?? account, account);
  return claimable.assets;
}

/** `lpRedeem` of the shares worth `assets` now (rounded up), e.g. `maxWithdraw`. */
export async function lpWithdraw(vault: LiquidityVault, signer: Signer, assets: bigint, receiver?: string): Promise<bigint> {
  const shares = await vault.convertToShares(assets);
  return lpRedeem(vault, signer, shares, receiver);
}
