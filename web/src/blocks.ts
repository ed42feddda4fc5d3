import { useEffect, useRef } from "react";

import type { PerpClient } from "@perp/sdk";

/** How often the page asks for the latest block number (one `eth_blockNumber`, nothing else). */
export const BLOCK_POLL_MS = 1000;

/**
 * Calls `onBlock` once now and then once per new block, never two at a time: the page re-reads the chain only
 * when the chain has changed (every read is pinned to a block, so nothing new can appear between blocks).
 * Returns nothing; a failure goes to `onError` and the next block tries again.
 */
export function useNewBlocks(client: PerpClient | undefined, onBlock: () => Promise<void>, onError: (error: unknown) => void): void {
  const seen = useRef<number>(undefined);
  const running = useRef(false);
  const handler = useRef(onBlock);
  handler.current = onBlock;
  const errors = useRef(onError);
  errors.current = onError;
  useEffect(() => {
    if (client === undefined) return;
    seen.current = undefined;
    let live = true;
    const tick = async () => {
      if (running.current) return;
      running.current = true;
      try {
        const block = await client.provider.getBlockNumber();
        if (!live || block === seen.current) return;
        await handler.current();
        seen.current = block;
      } catch (error) {
        if (live) errors.current(error);
      } finally {
        running.current = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), BLOCK_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [client, onBlock]);
}
