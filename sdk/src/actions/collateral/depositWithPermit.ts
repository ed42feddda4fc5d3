import { Contract, Signature, type TransactionReceipt } from "ethers";

import { withPerpErrors, type InvalidRequestError, type NoSignerError, type PerpContractError, type PerpTransportError } from "../../errors.js";
import { requireSigner, sendCall, toTokenUnits, type ClientContext } from "../../client/context.js";
import type { InvalidAmountError, TokenAmount } from "../../units.js";

export interface DepositWithPermitParameters {
  /** USDC: a decimal string or token units. */
  readonly amount: TokenAmount;
  /** How long the permit stays valid, from the latest block (default 3,600 s). */
  readonly deadlineSeconds?: number;
}
export type DepositWithPermitReturnType = TransactionReceipt;
export type DepositWithPermitErrorType =
  | InvalidAmountError
  | InvalidRequestError
  | NoSignerError
  | PerpContractError
  | PerpTransportError;

/** EIP-2612 `Permit` typed data. */
export const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/**
 * Deposits with an EIP-2612 permit signature: the wallet signs typed data, then one transaction, no approval.
 * @example await depositWithPermit(client, { amount: "250" })
 */
export async function depositWithPermit(
  ctx: ClientContext,
  parameters: DepositWithPermitParameters,
): Promise<DepositWithPermitReturnType> {
  const signer = requireSigner(ctx);
  const units = await toTokenUnits(ctx, parameters.amount);
  const owner = await signer.getAddress();
  const block = await withPerpErrors(() => ctx.provider.getBlock("latest"));
  const deadline = BigInt((block?.timestamp ?? Math.floor(Date.now() / 1000)) + (parameters.deadlineSeconds ?? 3600));
  const domain = await permitDomain(ctx);
  const nonce = await withPerpErrors(() => ctx.token.nonces(owner));
  const signature = Signature.from(
    await withPerpErrors(() =>
      signer.signTypedData(domain, PERMIT_TYPES, { owner, spender: ctx.deployment.contracts.PerpEngine, value: units, nonce, deadline }),
    ),
  );
  const { v, r, s } = signature;
  return sendCall(ctx, ctx.engine.depositWithPermit.populateTransaction(units, deadline, v, r, s));
}

/** The token's EIP-712 domain: EIP-5267 when it has it (OpenZeppelin), else `name()` and `version()` (USDC). */
async function permitDomain(ctx: ClientContext) {
  const chainId = BigInt(ctx.deployment.chainId);
  const verifyingContract = ctx.deployment.contracts.CollateralToken;
  try {
    const domain = await ctx.token.eip712Domain();
    return { name: domain.name, version: domain.version, chainId, verifyingContract };
  } catch {
    const name = await withPerpErrors(() => ctx.token.name());
    const versioned = new Contract(verifyingContract, ["function version() view returns (string)"], ctx.provider);
    const version = await (versioned.version() as Promise<string>).catch(() => "1");
    return { name, version, chainId, verifyingContract };
  }
}
