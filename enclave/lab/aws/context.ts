/** What every service handler knows about the request it serves. */
import type { Principal } from "./principals";

export interface CallContext {
  region: string;
  accountId: string;
  principal: Principal;
  requestId: string;
  sourceIp: string;
  userAgent: string;
  /** Epoch ms from the emulator's clock. */
  now: number;
  /** The operation name, e.g. `Decrypt`. */
  operation: string;
}

export type JsonObject = Record<string, unknown>;

/** The emulator's clock: epoch milliseconds. Tests inject one to move time without sleeping. */
export type Clock = () => number;
