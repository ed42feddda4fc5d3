import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

/**
 * The SDK's typechain factories carry each contract's creation bytecode (for deploying), and the SDK's error decoder
 * reaches them for their ABIs. A page never deploys a contract: drop the bytecode from the bundle (about a third of
 * the SDK's weight), keep the ABIs.
 */
function dropCreationBytecode(): Plugin {
  return {
    name: "perp:drop-creation-bytecode",
    transform(code, id) {
      if (!/[\\/]generated[\\/]factories[\\/].*__factory\.ts$/.test(id)) return null;
      return { code: code.replace(/const _bytecode =\s*"0x[0-9a-fA-F]*";/, 'const _bytecode = "0x";'), map: null };
    },
  };
}

// The SDK from its sources (as tsc and tsx resolve it in the repository: no build step), and one copy of ethers:
// two copies would break the SDK's error decoding (ethers' isError checks across copies).
export default defineConfig({
  plugins: [dropCreationBytecode(), react()],
  resolve: {
    alias: { "@perp/sdk": fileURLToPath(new URL("../sdk/src/index.ts", import.meta.url)) },
    dedupe: ["ethers"],
  },
  // The trading screen is one chunk (React, ethers, the SDK); its gzipped size is checked in test/web.test.ts.
  build: { target: "es2022", sourcemap: true, chunkSizeWarningLimit: 1000 },
  server: { host: "127.0.0.1", port: 5173, strictPort: true, fs: { allow: [".."] } },
  preview: { host: "127.0.0.1", port: 4173, strictPort: true },
});
