import { Suspense, lazy, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { BrowserProvider, Contract, JsonRpcProvider, ZeroAddress, formatUnits, toQuantity } from "ethers";

import {
  OrderCancelledError,
  PerpClient,
  WrongChainError,
  mergeAccountHistory,
  mergePriceHistory,
  positionsWithFunding,
  type AccountHistory,
  type MarketInfo,
  type PriceHistory,
  type OrderInfo,
  type PositionInfo,
  type Snapshot,
} from "@perp/sdk";

import { useNewBlocks } from "./blocks";
import type { ChartLine, ChartPoint } from "./chart";
import { LOCAL_RPC, chainName, hasFaucet, loadDeployments, readRpcUrl, type PageDeployment } from "./deployments";
import { FAUCET_GAS_WEI, GAS_FAUCETS, setLocalBalance } from "./faucet";
import { describeError } from "./errors";
import { AccountPanel, History, MarketHeader, OpenOrders, Positions } from "./panels";
import { OrderTicket } from "./ticket";
import { VaultOverview, VaultPage } from "./vault";
import { discoverWallets, type DiscoveredWallet } from "./wallet";

export interface ChainData {
  readonly snapshot: Snapshot;
  readonly positions: PositionInfo[];
  readonly orders: OrderInfo[];
  readonly walletUsdc: bigint;
  /** The account's trades, funding settlements and liquidations, read once and then block by block. */
  readonly history: AccountHistory;
  /** Each market's prices cached on chain (the SDK's getPriceHistory), read once and then block by block. */
  readonly prices: PriceHistory;
}

/** What the page tells the user about the last action: progress, success, or a decoded failure. */
export interface Notice {
  readonly kind: "pending" | "ok" | "error" | "info";
  readonly text: string;
}

export interface Actions {
  /** Runs a wallet action with the page's feedback: a rejected signature is a note, a failure a decoded sentence. */
  run(label: string, action: () => Promise<string | void>): Promise<boolean>;
  refresh(): Promise<void>;
  notify(notice: Notice): void;
}

/** Prices drawn per market: the latest ones. */
const CHART_POINTS = 2000;
const PriceChart = lazy(() => import("./chart"));

export function App() {
  const [deployments, setDeployments] = useState<PageDeployment[]>([]);
  const [wallets, setWallets] = useState<DiscoveredWallet[]>([]);
  const [wallet, setWallet] = useState<DiscoveredWallet>();
  const [account, setAccount] = useState<string>();
  const [chainId, setChainId] = useState<number>();
  const [client, setClient] = useState<PerpClient>();
  const [data, setData] = useState<ChainData>();
  const [notice, setNotice] = useState<Notice>();
  const [busy, setBusy] = useState(false);
  const [market, setMarket] = useState(0);
  const [screen, setScreen] = useState<"trade" | "vault">("trade");
  const [readClient, setReadClient] = useState<PerpClient>();
  const [preview, setPreview] = useState<{ snapshot: Snapshot; prices: PriceHistory }>();

  useEffect(() => {
    void loadDeployments().then(setDeployments);
    return discoverWallets(setWallets);
  }, []);

  const deployment = deployments.find((d) => d.chainId === chainId);
  const target = deployments.find((d) => d.chainId === 31337) ?? deployments[0];

  const connect = async (w: DiscoveredWallet) => {
    try {
      const accounts = (await w.provider.request({ method: "eth_requestAccounts" })) as string[];
      const chain = Number(BigInt((await w.provider.request({ method: "eth_chainId" })) as string));
      setWallet(w);
      setAccount(accounts[0]);
      setChainId(chain);
      setNotice(undefined);
    } catch (error) {
      setNotice(noticeFor("Connecting", error));
    }
  };

  // The wallet's account and network are the page's: follow them.
  useEffect(() => {
    if (wallet === undefined) return;
    const onAccounts = (accounts: string[]) => {
      setData(undefined);
      if (accounts.length === 0) {
        setWallet(undefined);
        setAccount(undefined);
      } else setAccount(accounts[0]);
    };
    const onChain = (id: string) => {
      setData(undefined);
      setChainId(Number(BigInt(id)));
    };
    wallet.provider.on?.("accountsChanged", onAccounts);
    wallet.provider.on?.("chainChanged", onChain);
    return () => {
      wallet.provider.removeListener?.("accountsChanged", onAccounts);
      wallet.provider.removeListener?.("chainChanged", onChain);
    };
  }, [wallet]);

  useEffect(() => {
    setClient(undefined);
    if (wallet === undefined || account === undefined || deployment === undefined) return;
    let live = true;
    void (async () => {
      try {
        const provider = new BrowserProvider(wallet.provider, chainId);
        const signer = await provider.getSigner(account);
        const c = await PerpClient.connect({ runner: signer, deployment });
        if (live) setClient(c);
      } catch (error) {
        if (live && !(error instanceof WrongChainError)) setNotice(noticeFor("Connecting", error));
      }
    })();
    return () => {
      live = false;
    };
  }, [wallet, account, chainId, deployment]);

  // Before a wallet is connected (or with none installed), the page reads the deployment's chain through its own
  // JSON-RPC provider: markets, chart, vault and quotes, read-only.
  const disconnected = account === undefined;
  useEffect(() => {
    setReadClient(undefined);
    setPreview(undefined);
    const url = target && readRpcUrl(target);
    if (!disconnected || target === undefined || url === undefined) return;
    const provider = new JsonRpcProvider(url, target.chainId, { staticNetwork: true });
    let live = true;
    PerpClient.connect({ runner: provider, deployment: target }).then(
      (c) => live && setReadClient(c),
      (error: unknown) => live && setNotice(noticeFor("Reading the chain", error)),
    );
    return () => {
      live = false;
      provider.destroy();
    };
  }, [disconnected, target]);
  const pricesRead = useRef<{ client: PerpClient; prices: PriceHistory }>(undefined);
  const refreshPreview = useCallback(async () => {
    if (readClient === undefined) return;
    const previous = pricesRead.current?.client === readClient ? pricesRead.current.prices : undefined;
    // No account: the snapshot's is the zero address's, empty.
    const snapshot = await readClient.snapshot(ZeroAddress);
    const newPrices = await readClient.priceHistory({ fromBlock: previous ? previous.toBlock + 1 : undefined, toBlock: snapshot.blockNumber });
    const prices = previous ? mergePriceHistory(previous, newPrices) : newPrices;
    pricesRead.current = { client: readClient, prices };
    setPreview({ snapshot, prices });
  }, [readClient]);
  useNewBlocks(readClient, refreshPreview, (error) => setNotice(noticeFor("Reading the chain", error)));

  // The history read so far, for this client and account: each refresh reads only the blocks after it.
  const historyRead = useRef<{ key: string; history: AccountHistory; prices: PriceHistory }>(undefined);
  const refresh = useCallback(async () => {
    if (client === undefined || account === undefined) return;
    const key = `${client.deployment.chainId}:${client.deployment.contracts.PerpEngine}:${account.toLowerCase()}`;
    const previous = historyRead.current?.key === key ? historyRead.current : undefined;
    const snapshot = await client.snapshot(account);
    const fromBlock = previous ? previous.history.toBlock + 1 : undefined;
    const [positions, orders, walletUsdc, increment, newPrices] = await Promise.all([
      client.positions(account, snapshot),
      client.orders(account),
      client.token.balanceOf(account),
      client.accountHistory({ trader: account, fromBlock, toBlock: snapshot.blockNumber }),
      client.priceHistory({ fromBlock, toBlock: snapshot.blockNumber }),
    ]);
    const history = previous ? mergeAccountHistory(previous.history, increment) : increment;
    const prices = previous ? mergePriceHistory(previous.prices, newPrices) : newPrices;
    historyRead.current = { key, history, prices };
    setData({ snapshot, positions: positionsWithFunding(positions, history), orders, walletUsdc, history, prices });
  }, [client, account]);

  // Re-read on new blocks only: one eth_blockNumber a second, the snapshot and the history's new blocks when it moves.
  useNewBlocks(client, refresh, (error) => setNotice(noticeFor("Reading the chain", error)));

  const actions: Actions = useMemo(
    () => ({
      async run(label, action) {
        setBusy(true);
        setNotice({ kind: "pending", text: `${label}: confirm in your wallet…` });
        try {
          const done = await action();
          setNotice({ kind: "ok", text: done ?? `${label}: done.` });
          await refresh();
          return true;
        } catch (error) {
          setNotice(noticeFor(label, error));
          return false;
        } finally {
          setBusy(false);
        }
      },
      refresh,
      notify: setNotice,
    }),
    [refresh],
  );

  const switchNetwork = async () => {
    if (wallet === undefined || target === undefined) return;
    const chainHex = toQuantity(target.chainId);
    try {
      await wallet.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chainHex }] });
    } catch (error) {
      if ((error as { code?: number }).code === 4902 && target.chainId === 31337) {
        try {
          await wallet.provider.request({
            method: "wallet_addEthereumChain",
            params: [{ chainId: chainHex, chainName: chainName(target.chainId), rpcUrls: [LOCAL_RPC], nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 } }],
          });
          return;
        } catch (added) {
          setNotice(noticeFor("Adding the network", added));
          return;
        }
      }
      setNotice(noticeFor("Switching network", error));
    }
  };

  const faucet = async () => {
    if (client === undefined || account === undefined) return;
    await actions.run("Faucet", async () => {
      let gas = "";
      if (chainId === 31337 && wallet !== undefined) {
        // Gas for a fresh wallet: a local node sets balances on request (anvil or Hardhat's method), asked through
        // the wallet first (it forwards to its node), then at the local RPC directly.
        const local = new JsonRpcProvider(LOCAL_RPC, chainId, { staticNetwork: true });
        const done = await setLocalBalance(
          [(method, params) => wallet.provider.request({ method, params }), (method, params) => local.send(method, params)],
          account,
          FAUCET_GAS_WEI,
        );
        local.destroy();
        gas = done ? " and 10 ETH for gas" : "";
      }
      // MockUSDC: anyone may mint on local and test chains.
      const token = new Contract(client.deployment.contracts.CollateralToken, ["function mint(address to, uint256 amount)"], client.signer);
      await (await token.getFunction("mint")(account, 10_000n * 10n ** 6n)).wait();
      return `Faucet: 10,000 test USDC${gas} sent to your wallet.`;
    });
  };

  const points = useMemo(() => (data ? chartPoints(data.prices, market) : preview ? chartPoints(preview.prices, market) : []), [data, preview, market]);
  const lines = useMemo(() => (data ? chartLines(data, market) : []), [data, market]);
  const wrongNetwork = account !== undefined && chainId !== undefined && deployment === undefined && deployments.length > 0;
  const snapshotMarket = data?.snapshot.markets.get(market);
  const previewMarket = account === undefined ? preview?.snapshot.markets.get(market) : undefined;
  /** What a visitor without a connected wallet is offered in place of a wallet action. */
  const connectCta = (what: string) =>
    wallets.length > 0 ? (
      <button
        className="primary"
        data-testid="connect-cta"
        onClick={() => (wallets.length === 1 ? void connect(wallets[0]) : document.querySelector<HTMLButtonElement>(".wallets button")?.focus())}
      >
        Connect a wallet to {what}
      </button>
    ) : (
      <p className="connect-cta" data-testid="connect-cta">
        Connect a wallet to {what}: install <a href="https://metamask.io/download/">MetaMask</a> or <a href="https://rabby.io/">Rabby</a>, then reload
        this page.
      </p>
    );

  return (
    <div className="app">
      <header className="top">
        <h1>Perp</h1>
        {account === undefined ? (
          <div className="wallets" aria-label="Wallets">
            {wallets.length === 0 && <span>No browser wallet found: install MetaMask or Rabby.</span>}
            {wallets.map((w) => (
              <button key={w.info.uuid} onClick={() => void connect(w)}>
                {w.info.icon && <img src={w.info.icon} alt="" width={16} height={16} />} Connect {w.info.name}
              </button>
            ))}
          </div>
        ) : (
          <div className="who" data-testid="account">
            <span title={account}>{short(account)}</span> on {chainName(chainId!)} via {wallet?.info.name}
            <button className="link" onClick={() => { setWallet(undefined); setAccount(undefined); setData(undefined); }}>Disconnect</button>
          </div>
        )}
      </header>
      {wrongNetwork && (
        <div className="banner" role="alert" data-testid="wrong-network">
          Wrong network: the protocol is not deployed on {chainName(chainId!)}.{" "}
          {target && <button onClick={() => void switchNetwork()}>Switch to {chainName(target.chainId)}</button>}
        </div>
      )}
      {notice && (
        <div className={`notice ${notice.kind}`} role={notice.kind === "error" ? "alert" : "status"} data-testid="notice">
          {notice.text}
        </div>
      )}
      {client && account && (
        <nav className="markets" aria-label="Screens">
          <button aria-pressed={screen === "trade"} onClick={() => setScreen("trade")}>Trade</button>
          <button aria-pressed={screen === "vault"} onClick={() => setScreen("vault")}>LP vault</button>
        </nav>
      )}
      {screen === "vault" && client && account && (
        <main>
          <VaultPage client={client} account={account} actions={actions} busy={busy} />
        </main>
      )}
      {screen === "trade" && data && client && snapshotMarket && (
        <main data-block={data.snapshot.blockNumber}>
          <MarketOverview market={snapshotMarket} snapshot={data.snapshot} client={client} onSelect={setMarket} points={points} lines={lines} />
          <div className="grid">
            <OrderTicket client={client} snapshot={data.snapshot} marketId={market} actions={actions} busy={busy} />
            <AccountPanel client={client} data={data} actions={actions} busy={busy} faucet={hasFaucet(chainId!) ? faucet : undefined} gasFaucet={GAS_FAUCETS[chainId!]} />
          </div>
          <Positions client={client} data={data} actions={actions} busy={busy} />
          <OpenOrders client={client} data={data} actions={actions} busy={busy} />
          <History data={data} />
        </main>
      )}
      {account !== undefined && deployment !== undefined && data === undefined && <p role="status">Loading the market…</p>}
      {readClient && preview && previewMarket && (
        <main data-testid="read-only">
          <p className="read-only-note">
            Viewing {chainName(readClient.deployment.chainId)} read-only: markets, the chart, the LP vault and quotes come from the chain. Connect a
            wallet to trade.
          </p>
          <MarketOverview market={previewMarket} snapshot={preview.snapshot} client={readClient} onSelect={setMarket} points={points} lines={[]} />
          <div className="grid">
            <OrderTicket snapshot={preview.snapshot} marketId={market} busy={false} connect={connectCta("trade")} />
            <VaultOverview client={readClient} connect={connectCta("provide liquidity")} />
          </div>
        </main>
      )}
    </div>
  );
}


/** The market picker, the market's header and its lazy-loaded chart: the same whether a wallet is connected or not. */
function MarketOverview({ market, snapshot, client, onSelect, points, lines }: {
  market: MarketInfo;
  snapshot: Snapshot;
  client: PerpClient;
  onSelect: (id: number) => void;
  points: readonly ChartPoint[];
  lines: readonly ChartLine[];
}) {
  return (
    <>
      <nav className="markets" aria-label="Markets">
        {[...snapshot.markets.values()].map((m) => (
          <button key={m.id} aria-pressed={m.id === market.id} onClick={() => onSelect(m.id)}>{m.symbol}</button>
        ))}
      </nav>
      <MarketHeader market={market} snapshot={snapshot} client={client} />
      <Suspense fallback={<div className="chart" role="status">Loading the chart…</div>}>
        <PriceChart label={`${market.symbol} index price`} points={points} lines={lines} />
      </Suspense>
    </>
  );
}

/** The market's prices cached on chain, as chart points (floats for drawing only, never amounts). */
function chartPoints(prices: PriceHistory, marketId: number) {
  return (prices.markets.get(marketId) ?? []).slice(-CHART_POINTS).map((p) => ({ time: Number(p.publishTime), value: Number(formatUnits(p.price, 18)) }));
}

/** The open position's entry and liquidation price, and its stop-loss and take-profit triggers. */
function chartLines(data: ChainData, marketId: number) {
  const lines: Array<{ price: number; title: string; color: string }> = [];
  const toNumber = (wad: bigint) => Number(formatUnits(wad, 18));
  const position = data.positions.find((p) => p.marketId === marketId);
  if (position) {
    lines.push({ price: toNumber(position.entryPrice), title: "entry", color: "#e8ecf1" });
    if (position.liquidationPrice > 0n) lines.push({ price: toNumber(position.liquidationPrice), title: "liquidation", color: "#ff7a7a" });
  }
  for (const o of data.orders) {
    if (o.marketId !== marketId) continue;
    if (o.kind === "stop-loss") lines.push({ price: toNumber(o.triggerPrice), title: "stop", color: "#ffd479" });
    if (o.kind === "take-profit") lines.push({ price: toNumber(o.triggerPrice), title: "target", color: "#3ddc97" });
  }
  return lines;
}

export function noticeFor(label: string, error: unknown): Notice {
  const text = describeError(error);
  if (text === undefined) return { kind: "info", text: `${label}: you rejected the request in your wallet; nothing was sent.` };
  if (error instanceof OrderCancelledError) return { kind: "error", text: `${label}: ${text}` };
  return { kind: "error", text: `${label} failed: ${text}` };
}

export function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}
