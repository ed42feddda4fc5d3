import { useCallback, useId, useState } from "react";

import {
  formatDecimal,
  formatTokenUnits,
  formatUsd,
  type GetLpPositionReturnType,
  type GetLpRequestsReturnType,
  type GetVaultStateReturnType,
  PerpContractError,
  toPerpError,
  type PerpClient,
} from "@perp/sdk";

import type { Actions } from "./App";
import { useNewBlocks } from "./blocks";
import { describeError } from "./errors";

interface VaultData {
  readonly state: GetVaultStateReturnType;
  readonly sharePrice: bigint;
  readonly position: GetLpPositionReturnType;
  readonly requests: GetLpRequestsReturnType;
}

/**
 * `useNewBlocks` for a vault screen: `load` at every new block, and its failure as a sentence for the screen (the
 * NAV needs every market's price, so an oracle or node outage shows here), cleared by the next read that succeeds.
 */
function useVaultReads(client: PerpClient, load: () => Promise<void>): string | undefined {
  const [failure, setFailure] = useState<string>();
  const read = useCallback(async () => {
    await load();
    setFailure(undefined);
  }, [load]);
  useNewBlocks(client, read, (error) => setFailure(describeError(error) ?? "the request was rejected"));
  return failure;
}

function ReadFailure({ failure }: { failure: string | undefined }) {
  if (failure === undefined) return null;
  return (
    <p role="alert" className="notice error" data-testid="vault-read-error">
      Reading the vault failed: {failure.replace(/\.$/, "")}. The page tries again at the next block.
    </p>
  );
}

/** The LP vault: NAV, share price, the LP's shares and cooldown, and its ERC-7540 requests (request, settle, claim). */
export function VaultPage({ client, account, actions, busy }: { client: PerpClient; account: string; actions: Actions; busy: boolean }) {
  const [data, setData] = useState<VaultData>();
  const [amount, setAmount] = useState("1000");
  const id = useId();
  const load = useCallback(async () => {
    const [state, sharePrice, position, requests] = await Promise.all([
      client.vaultState(),
      client.vaultSharePrice(),
      client.lpPosition(account),
      client.lpRequests(account),
    ]);
    setData({ state, sharePrice, position, requests });
  }, [client, account]);
  const failure = useVaultReads(client, load);
  if (data === undefined) return failure === undefined ? <p role="status">Loading the vault…</p> : <ReadFailure failure={failure} />;
  const { state, sharePrice, position, requests } = data;
  const run = (label: string, action: () => Promise<unknown>) => void actions.run(label, async () => void (await action())).then(load);
  // Anyone may settle a due request, and the stack's keeper does: a request settled between this page's last read and
  // the click is not a failure, it is done. Too early, the vault's SettleTooEarly says when, in words.
  const settleDeposit = () =>
    void actions
      .run("Settle deposit", async () => {
        try {
          await client.lpSettle("deposit", account);
        } catch (error) {
          const e = toPerpError(error);
          if (!(e instanceof PerpContractError) || e.errorName !== "NoPendingRequest") throw error;
          const now = await client.lpRequests(account);
          return now.claimableDeposit.shares > 0n
            ? "Settle deposit: a keeper already settled this request; your shares are ready to claim."
            : "Settle deposit: there is no pending deposit any more (it was settled or cancelled).";
        }
      })
      .then(load);
  return (
    <section className="card" aria-labelledby={`${id}-h`} data-testid="vault" data-block={position.blockNumber}>
      <h2 id={`${id}-h`}>LP vault</h2>
      <ReadFailure failure={failure} />
      <dl className="summary">
        <PoolRows state={state} sharePrice={sharePrice} />
        <Row k="Your shares' value" v={`${formatTokenUnits(position.assets, 6, 2)} USDC`} t="lp-assets" />
        <Row
          k="Cooldown"
          v={position.locked ? `locked for ${String(position.secondsLeft)} s more` : position.shares > 0n ? "unlocked" : "no shares"}
          t="cooldown"
        />
        <Row
          k="Pending deposit"
          v={requests.pendingDeposit.amount === 0n ? "none" : `${formatTokenUnits(requests.pendingDeposit.amount, 6, 2)} USDC${requests.pendingDeposit.due ? ", ready to settle" : `, settles after ${new Date(Number(requests.pendingDeposit.settleableAt) * 1000).toLocaleTimeString()}`}`}
          t="pending-deposit"
        />
        <Row k="Claimable shares" v={requests.claimableDeposit.shares === 0n ? "none" : `${formatTokenUnits(requests.claimableDeposit.assets, 6, 2)} USDC worth`} t="claimable" />
      </dl>
      <p>
        Deposits and withdrawals are requests: each is priced at the NAV when it is settled, {String(requests.settleDelay)} s after it is made
        (anyone may settle it and earns the {formatTokenUnits(requests.keeperFee, 6, 2)} USDC fee escrowed with it), then claimed.
      </p>
      <label>
        Amount (USDC)
        <input inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
      </label>
      <div className="actions">
        <button disabled={busy} onClick={() => run("LP deposit request", () => client.lpDeposit(amount))}>Request deposit</button>
        <button disabled={busy || requests.pendingDeposit.amount === 0n} onClick={settleDeposit}>Settle deposit</button>
        <button disabled={busy || requests.claimableDeposit.shares === 0n} onClick={() => run("Claim shares", () => client.lpClaim("deposit"))}>Claim shares</button>
        <button disabled={busy || position.maxWithdraw === 0n} onClick={() => run("LP withdraw request", () => client.lpWithdraw(amount))}>Request withdrawal</button>
      </div>
    </section>
  );
}

/**
 * The vault's own numbers, for a visitor with no wallet connected (read through the page's read-only client): NAV,
 * cash, withdrawable, insurance fund and share price, re-read on each new block.
 */
export function VaultOverview({ client, connect }: { client: PerpClient; connect: React.ReactNode }) {
  const [data, setData] = useState<{ state: GetVaultStateReturnType; sharePrice: bigint }>();
  const id = useId();
  const load = useCallback(async () => {
    const [state, sharePrice] = await Promise.all([client.vaultState(), client.vaultSharePrice()]);
    setData({ state, sharePrice });
  }, [client]);
  const failure = useVaultReads(client, load);
  return (
    <section className="card" aria-labelledby={`${id}-h`} data-testid="vault-overview">
      <h2 id={`${id}-h`}>LP vault</h2>
      <ReadFailure failure={failure} />
      {data === undefined ? (
        <p role="status">Loading the vault…</p>
      ) : (
        <dl className="summary">
          <PoolRows state={data.state} sharePrice={data.sharePrice} />
        </dl>
      )}
      <p>LPs back the traders' positions and earn their fees; deposits and withdrawals are requests priced at the NAV when settled.</p>
      {connect}
    </section>
  );
}

function PoolRows({ state, sharePrice }: { state: GetVaultStateReturnType; sharePrice: bigint }) {
  return (
    <>
      <Row k="Net asset value" v={formatUsd(state.nav)} t="nav" />
      <Row k="Cash" v={formatUsd(state.cash)} t="cash" />
      <Row k="Withdrawable by LPs now" v={formatUsd(state.withdrawable)} t="withdrawable" />
      <Row k="Insurance fund" v={formatUsd(state.insuranceFund)} t="insurance" />
      <Row k="Share price (USDC per share)" v={formatDecimal(sharePrice, 18, 2, 6)} t="share-price" />
    </>
  );
}

function Row({ k, v, t }: { k: string; v: string; t: string }) {
  return (
    <div>
      <dt>{k}</dt>
      <dd data-testid={`vault-${t}`}>{v}</dd>
    </div>
  );
}
