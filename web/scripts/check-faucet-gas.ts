/**
 * Runs the page's faucet gas (web/src/faucet.ts) against a node at RPC_URL and prints which method set the balance:
 * `anvil_setBalance` on anvil, `hardhat_setBalance` on `npx hardhat node`.
 * Usage: RPC_URL=http://127.0.0.1:<port> npx tsx web/scripts/check-faucet-gas.ts
 */
import { JsonRpcProvider, Wallet } from "ethers";

import { FAUCET_GAS_WEI, setLocalBalance } from "../src/faucet.js";

const provider = new JsonRpcProvider(process.env.RPC_URL ?? "http://127.0.0.1:8545", undefined, { staticNetwork: true });
const fresh = Wallet.createRandom().address;
const method = await setLocalBalance([(m, p) => provider.send(m, p)], fresh, FAUCET_GAS_WEI);
const balance = await provider.getBalance(fresh);
console.log(JSON.stringify({ client: await provider.send("web3_clientVersion", []), method, account: fresh, balanceWei: balance.toString() }));
provider.destroy();
if (method === undefined || balance !== FAUCET_GAS_WEI) process.exit(1);
