/**
 * Structured server logs (pino, JSON to stdout). Secrets never reach them: known secret-bearing paths are redacted,
 * and code logs identifiers, not payloads.
 */
import pino from "pino";

export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
  base: { service: "acra-nitro-console" },
  redact: {
    paths: ["password", "*.password", "secret", "*.secret", "token", "*.token", "headers.cookie", "headers.authorization", "*.plaintext", "*.Plaintext", "*.secretAccessKey"],
    censor: "[redacted]",
  },
});
