import { toPerpError } from "@perp/sdk";

import { isUserRejection } from "./wallet";

/**
 * A failure as one sentence for the user: the SDK's decoded message (contract errors with their numbers, transport
 * and request errors), or `undefined` when the user only rejected the wallet's prompt, which is not an error.
 */
export function describeError(error: unknown): string | undefined {
  if (isUserRejection(error)) return undefined;
  const message = toPerpError(error).message;
  return message.charAt(0).toUpperCase() + message.slice(1);
}
