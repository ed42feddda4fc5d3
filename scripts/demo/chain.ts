/**
 * Time on the demo's chain. An automining node stamps each block with the wall clock (plus any offset), so the
 * seconds between two transactions, and with them the funding that accrues per second, would differ from run to
 * run. The demo instead chooses every block's timestamp: one second after the previous block for each transaction,
 * and a scripted jump for simulated hours (`evm_setNextBlockTimestamp` + `evm_mine`, supported by Hardhat's
 * network and anvil alike). Every number the demo prints is then the same on every run.
 */
import {
  AbstractSigner,
  type Provider,
  type Signer,
  type TransactionRequest,
  type TransactionResponse,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";

/** The EIP-1193 side of a node: Hardhat's `connection.provider`. */
export interface Rpc {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

interface RpcBlock {
  number: string;
  timestamp: string;
}

export async function latestBlock(rpc: Rpc): Promise<{ number: number; timestamp: bigint }> {
  const block = (await rpc.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as RpcBlock;
  return { number: Number(block.number), timestamp: BigInt(block.timestamp) };
}

export class ChainClock {
  private constructor(
    private readonly rpc: Rpc,
    private time: bigint,
    private origin: bigint,
  ) {}

  /** A clock that continues from the latest block. */
  static async start(rpc: Rpc): Promise<ChainClock> {
    const { timestamp } = await latestBlock(rpc);
    return new ChainClock(rpc, timestamp, timestamp);
  }

  /** Timestamp of the last block the clock scheduled. */
  get now(): bigint {
    return this.time;
  }

  /** Seconds since the origin (the clock's start, or the last `markOrigin`). */
  get elapsed(): bigint {
    return this.time - this.origin;
  }

  /** Makes the current time the story's "t = 0". */
  markOrigin(): void {
    this.origin = this.time;
  }

  /** Before each transaction: its block comes one second after the previous one. */
  async beforeTransaction(): Promise<void> {
    await this.scheduleNext(this.time + 1n);
  }

  /** Simulated time passing: mines an empty block `seconds` later. */
  async advance(seconds: bigint): Promise<void> {
    await this.scheduleNext(this.time + seconds);
    await this.rpc.request({ method: "evm_mine", params: [] });
  }

  private async scheduleNext(timestamp: bigint): Promise<void> {
    let next = timestamp;
    try {
      await this.rpc.request({ method: "evm_setNextBlockTimestamp", params: [Number(next)] });
    } catch (error) {
      // Someone else's transaction (a keeper or CLI on the same node) mined a later block meanwhile: continue after it.
      const { timestamp: latest } = await latestBlock(this.rpc);
      if (latest < next) throw error;
      next = latest + 1n;
      await this.rpc.request({ method: "evm_setNextBlockTimestamp", params: [Number(next)] });
    }
    this.time = next;
  }
}

/**
 * A signer whose transactions are stamped by a `ChainClock`: wraps one of the node's unlocked accounts (Hardhat's
 * signers; no key is ever handled here) and asks the clock for the next block's timestamp before each transaction.
 * The SDK takes it as any ethers `Signer`.
 */
export class ClockedSigner extends AbstractSigner {
  constructor(
    readonly inner: Signer,
    readonly clock: ChainClock,
  ) {
    super(inner.provider);
  }

  override getAddress(): Promise<string> {
    return this.inner.getAddress();
  }

  override connect(provider: Provider | null): ClockedSigner {
    return new ClockedSigner(this.inner.connect(provider), this.clock);
  }

  override signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }

  override signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }

  override signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }

  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    await this.clock.beforeTransaction();
    return this.inner.sendTransaction(tx);
  }
}
