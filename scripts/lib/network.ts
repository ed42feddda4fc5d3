import { network } from "hardhat";

/** One in-process network for the whole mocha run; `loadFixture` snapshots isolate the tests. */
export const { ethers, networkHelpers } = await network.create();
