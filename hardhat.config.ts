import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

const compiler = {
  version: "0.8.30",
  path: require.resolve("solc/soljson.js"),
  // viaIR: ~9k less gas per trade and a 3.7 KB smaller engine, for ~40 s of wasm compile time (measured).
  settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun", viaIR: true },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  // Only the project's contracts are built (not Pyth's MockPyth): the typechain output keeps one root, and the local
  // Pyth is our own StrictMockPyth (SPEC "Prices": MockPyth enforces neither uniqueness nor no-store-on-parse).
  solidity: { profiles: { default: compiler, production: compiler } },
  // The bindings belong to the SDK package (`@perp/sdk` ships them from its own folder); generated, gitignored.
  typechain: { outDir: "sdk/src/generated" },
  // Deployment targets (docs/deployment.md). RPC URLs and the deployer key are configuration variables: an
  // environment variable of that name, or a value stored with `npx hardhat keystore set NAME`. They are read only
  // when that network is used, so an unset one fails with Hardhat's error naming it, and never elsewhere.
  networks: {
    // The in-process network of `npx hardhat test` and of scripts run without --network.
    default: { type: "edr-simulated" },
    // `npx hardhat node` or `anvil` (chain 31337, unlocked default accounts). LOCALHOST_RPC_URL overrides the URL.
    localhost: {
      type: "http",
      url: configVariable("LOCALHOST_RPC_URL", { default: "http://127.0.0.1:8545" }),
    },
    sepolia: {
      type: "http",
      chainType: "l1",
      chainId: 11155111,
      url: configVariable("SEPOLIA_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
    arbitrumSepolia: {
      type: "http",
      chainId: 421614,
      url: configVariable("ARBITRUM_SEPOLIA_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
    baseSepolia: {
      type: "http",
      chainType: "op",
      chainId: 84532,
      url: configVariable("BASE_SEPOLIA_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
    seiTestnet: {
      type: "http",
      chainId: 1328,
      url: configVariable("SEI_TESTNET_RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
  },
  // Contract verification (`npx hardhat ignition verify chain-<id>`, `npx hardhat verify --network X <address>`):
  // one Etherscan API v2 key serves Sepolia, Arbitrum Sepolia and Base Sepolia; read only when verifying.
  verify: {
    etherscan: { apiKey: configVariable("ETHERSCAN_API_KEY") },
  },
  // Solidity test profiles (Hardhat 3 "Test Profiles"): `default` for `npm test`, `deep` for `npm run test:deep`
  // (`hardhat test solidity --test-profile deep`), which CI runs after `npm test`. Times in docs/testing.md.
  test: {
    // Three worker processes on 2 cores: the end-to-end files spend most of their time waiting on nodes, keepers
    // and the browser (a serial run used 0.6 of a core on average), so a third file at a time still shortens the
    // run (mocha 2 min 12 s with two workers, 1 min 28 s to 1 min 34 s with three, four no faster: docs/testing.md,
    // "Suite time"). Each file still runs its tests in order, in one process.
    mocha: { parallel: true, jobs: 3 },
    solidity: {
      profiles: {
        // 256 fuzz runs per property; invariants: 128 sequences of 64 calls each (8,192 calls per invariant campaign).
        default: { fuzz: { runs: 256 }, invariant: { runs: 128, depth: 64 } },
        // 10x the fuzz runs; invariants: 320 sequences of 256 calls (81,920 calls: 10x the calls, 4x the depth).
        deep: { fuzz: { runs: 2_560 }, invariant: { runs: 320, depth: 256 } },
      },
    },
  },
});
