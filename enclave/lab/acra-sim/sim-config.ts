/**
 * Reads the simulated acra-server's environment (lab contract: the supervisor starts it with these variables).
 * Pure: takes the env object, returns a typed config or the reason to refuse to start.
 */
import type { MasterKeyProblem } from "./acra-events";
import { isAcraLogFormat, type AcraLogFormat } from "./log-format";

export interface AcraSimConfig {
  /** The decoded 32-byte master key (never logged). */
  masterKey: Buffer;
  host: string;
  port: number;
  metricsPort: number;
  controlPort: number;
  logFormat: AcraLogFormat;
  clientId: string;
  /** Simulated traffic, log lines per second. */
  ratePerSecond: number;
  poisonShutdown: boolean;
  version: string;
  /** Periodic GenerateDataKey through the (fake) Odyn KMS proxy; absent when no endpoint or key is configured. */
  kms?: { endpoint: string; region: string; keyId: string; intervalMs: number };
}

export type AcraSimConfigResult =
  | { ok: true; config: AcraSimConfig; logFormat: AcraLogFormat }
  | { ok: false; logFormat: AcraLogFormat; masterKeyProblem?: MasterKeyProblem; message: string };

const BASE64_ALPHABET = /^[A-Za-z0-9+/]$/;

/**
 * Go's base64.StdEncoding.DecodeString is strict (padding required, no whitespace); the error names the first
 * offending byte offset ("illegal base64 data at input byte N").
 */
export function decodeGoStdBase64(text: string): { ok: true; bytes: Buffer } | { ok: false; error: string } {
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (ch === "=") {
      const rest = text.slice(i);
      const validPadding = (rest === "=" || rest === "==") && text.length % 4 === 0;
      if (!validPadding) return { ok: false, error: `illegal base64 data at input byte ${i}` };
      break;
    }
    if (!BASE64_ALPHABET.test(ch)) return { ok: false, error: `illegal base64 data at input byte ${i}` };
  }
  if (text.length % 4 !== 0) return { ok: false, error: `illegal base64 data at input byte ${text.length - (text.length % 4)}` };
  return { ok: true, bytes: Buffer.from(text, "base64") };
}

function port(env: NodeJS.ProcessEnv, name: string): number | string {
  const raw = env[name];
  if (raw === undefined || !/^\d{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 65535) return `${name} must be a TCP port (1-65535), got ${JSON.stringify(raw ?? null)}`;
  return Number(raw);
}

export function parseAcraSimEnv(env: NodeJS.ProcessEnv): AcraSimConfigResult {
  // Like acra-server's CreateFormatter: unknown formats silently fall back to plaintext.
  const requestedFormat = (env.ACRA_SIM_LOG_FORMAT ?? "plaintext").toLowerCase();
  const logFormat: AcraLogFormat = isAcraLogFormat(requestedFormat) ? requestedFormat : "plaintext";

  const ports = [port(env, "ACRA_SIM_PORT"), port(env, "ACRA_SIM_METRICS_PORT"), port(env, "ACRA_SIM_CONTROL_PORT")];
  const portError = ports.find((p): p is string => typeof p === "string");
  if (portError) return { ok: false, logFormat, message: portError };

  const rateRaw = env.ACRA_SIM_RATE ?? "2";
  const ratePerSecond = Number(rateRaw);
  if (!Number.isFinite(ratePerSecond) || ratePerSecond < 0 || ratePerSecond > 10_000) {
    return { ok: false, logFormat, message: `ACRA_SIM_RATE must be a number of lines per second (0-10000), got ${JSON.stringify(rateRaw)}` };
  }
  const shutdownRaw = (env.ACRA_SIM_POISON_SHUTDOWN ?? "false").toLowerCase();
  if (shutdownRaw !== "true" && shutdownRaw !== "false") {
    return { ok: false, logFormat, message: `ACRA_SIM_POISON_SHUTDOWN must be true or false, got ${JSON.stringify(env.ACRA_SIM_POISON_SHUTDOWN)}` };
  }
  const intervalRaw = env.ACRA_SIM_KMS_INTERVAL_MS ?? "30000";
  const intervalMs = Number(intervalRaw);
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    return { ok: false, logFormat, message: `ACRA_SIM_KMS_INTERVAL_MS must be an integer >= 100, got ${JSON.stringify(intervalRaw)}` };
  }

  // Checked last, as acra-server only reaches keystore init after parsing its configuration.
  const keyRaw = env.ACRA_MASTER_KEY ?? "";
  if (keyRaw === "") return { ok: false, logFormat, masterKeyProblem: { kind: "missing" }, message: "ACRA_MASTER_KEY is not set" };
  const decoded = decodeGoStdBase64(keyRaw);
  if (!decoded.ok) return { ok: false, logFormat, masterKeyProblem: { kind: "not-base64", detail: decoded.error }, message: decoded.error };
  // Real acra-server accepts keys of 32 bytes or more (ValidateMasterKey); the lab contract fixes exactly 32.
  if (decoded.bytes.length !== 32) {
    return { ok: false, logFormat, masterKeyProblem: { kind: "wrong-length" }, message: `ACRA_MASTER_KEY decodes to ${decoded.bytes.length} bytes, not 32` };
  }

  const endpoint = env.AWS_ENDPOINT_KMS;
  const keyId = env.ACRA_SIM_KMS_KEY_ID;
  const config: AcraSimConfig = {
    masterKey: decoded.bytes,
    host: env.ACRA_SIM_HOST ?? "127.0.0.1",
    port: ports[0] as number,
    metricsPort: ports[1] as number,
    controlPort: ports[2] as number,
    logFormat,
    clientId: env.ACRA_SIM_CLIENT_ID || "app1",
    ratePerSecond,
    poisonShutdown: shutdownRaw === "true",
    version: env.ACRA_SIM_VERSION ?? "0.96.0",
  };
  if (endpoint && keyId) config.kms = { endpoint, region: env.AWS_REGION ?? "us-east-1", keyId, intervalMs };
  return { ok: true, config, logFormat };
}
