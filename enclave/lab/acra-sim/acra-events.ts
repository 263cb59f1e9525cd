/**
 * The log calls acra-server 0.96 makes for each situation the lab simulates, as events for log-format.ts.
 * Pure. Messages, levels, codes and fields are the ones at the real call sites (cited per builder; research notes
 * acra-enclaver.md §1-2 and the samples in test/vectors/acra/). Where real acra-server logs nothing at the levels it
 * prints by default, the builder says that the text is the simulator's own.
 */
import type { AcraLogEvent } from "./log-format";

/** Codes from logging/event_codes.go (vectors/acra/acra-event-codes.tsv) used by the simulator. */
export const ACRA_EVENT_CODES = {
  poisonRecordDetectionMessage: 101,
  cantInitKeyStore: 510,
  cantWrapConnection: 538,
  cantConnectToDb: 540,
  censorQueryIsNotAllowed: 560,
  decryptorCantDecryptBinary: 581,
  decryptorRecognizedPoisonRecord: 587,
} as const;

/** What the per-session logger carries (listener.go adds client_id, client_session.go adds session_id). */
export interface AcraSessionRef {
  clientId: string;
  sessionId: number;
}

function sessionFields(session: AcraSessionRef): Record<string, string | number> {
  return { client_id: session.clientId, session_id: session.sessionId };
}

export interface StartupOptions {
  pid: number;
  version: string;
  /** `--incoming_connection_string`, e.g. tcp://0.0.0.0:9393/ */
  connectionString: string;
  encryptorConfigPath?: string;
  poisonDetection?: boolean;
  poisonShutdown?: boolean;
}

/** cmd/acra-server/acra-server.go start-up sequence (REAL 2 + GENERATED samples), common/listener.go Start. */
export function startupEvents(timeMs: number, opts: StartupOptions): AcraLogEvent[] {
  const info = (msg: string, extra: Partial<AcraLogEvent> = {}): AcraLogEvent => ({ timeMs, level: "info", msg, ...extra });
  const listener = { connection_string: opts.connectionString, from_descriptor: false };
  const events: AcraLogEvent[] = [
    info(`Starting service acra-server [pid=${opts.pid}]`, { fields: { version: opts.version } }),
    info("Validating service configuration..."),
    info(`Load encryptor configuration from ${opts.encryptorConfigPath ?? "/config/encryptor_config.yaml"} ...`),
    info("Encryptor configuration loaded"),
    info("Initializing ACRA_MASTER_KEY loader..."),
    info("Initializing default env ACRA_MASTER_KEY loader"),
    info("Initialising keystore..."),
    info("Keystore init OK"),
    info("Configuring transport..."),
  ];
  if (opts.poisonDetection ?? true) {
    events.push(info("Turned on poison record detection", { code: ACRA_EVENT_CODES.poisonRecordDetectionMessage }));
    if (opts.poisonShutdown) {
      events.push(info("Turned on poison record callback that stops acra-server after poison record detection"));
    }
  }
  events.push(
    info("Create listener", { fields: listener }),
    info(`Start listening to connections. Current PID: ${opts.pid}`),
    info("Start listening connections", { fields: listener }),
  );
  return events;
}

/** common/listener.go start(): one line per accepted TCP connection, on the listener logger. */
export function clientConnectedEvents(timeMs: number, remoteAddr: string, connectionString: string): AcraLogEvent[] {
  return [
    {
      timeMs,
      level: "info",
      msg: `Got new connection to AcraServer: ${remoteAddr}`,
      fields: { connection_string: connectionString, from_descriptor: false },
    },
  ];
}

/** common/listener.go handleClientSession(): the session logger's first line. */
export function sessionStartedEvents(timeMs: number, session: AcraSessionRef): AcraLogEvent[] {
  return [{ timeMs, level: "info", msg: "Handle client's connection", fields: sessionFields(session) }];
}

/**
 * A crypto envelope in a DB response decrypted fine. Real acra-server logs nothing for this at info level (it only
 * counts acra_decryptions_total{status="success"}); the simulator prints one debug line of its own so that a
 * `-d` style trace shows the traffic. The text is the simulator's choice.
 */
export function decryptionOkEvents(timeMs: number, session: AcraSessionRef, containerType: string): AcraLogEvent[] {
  return [{ timeMs, level: "debug", msg: `Decrypted ${containerType} container`, fields: sessionFields(session) }];
}

/** crypto/decryptor.go: WARN "Can't decrypt SerializedContainer" code=581 (GENERATED sample). */
export function decryptionFailureEvents(timeMs: number, session: AcraSessionRef, error = "can't decrypt data with any key"): AcraLogEvent[] {
  return [
    {
      timeMs,
      level: "warning",
      msg: "Can't decrypt SerializedContainer",
      code: ACRA_EVENT_CODES.decryptorCantDecryptBinary,
      fields: { ...sessionFields(session), error },
    },
  ];
}

/** decryptor/postgresql/pg_decryptor.go: ERROR "AcraCensor blocked query" code=560 (GENERATED sample). */
export function censorBlockEvents(timeMs: number, session: AcraSessionRef, error = "query has been blocked by DENY [tables]"): AcraLogEvent[] {
  return [
    {
      timeMs,
      level: "error",
      msg: "AcraCensor blocked query",
      code: ACRA_EVENT_CODES.censorQueryIsNotAllowed,
      fields: { ...sessionFields(session), error },
    },
  ];
}

/**
 * crypto/poison_detector.go logs the coded WARN line on the session logger, then poison/callbacks.go EmptyCallback
 * repeats the message WITHOUT code or session fields; with --poison_shutdown_enable the StopCallback logs
 * "Detected poison record, exit" code=101 and calls os.Exit(1) (REAL 1).
 */
export function poisonRecognizedEvents(timeMs: number, session: AcraSessionRef, opts: { shutdown: boolean }): AcraLogEvent[] {
  const events: AcraLogEvent[] = [
    {
      timeMs,
      level: "warning",
      msg: "Recognized poison record",
      code: ACRA_EVENT_CODES.decryptorRecognizedPoisonRecord,
      fields: sessionFields(session),
    },
    { timeMs, level: "warning", msg: "Recognized poison record" },
  ];
  if (opts.shutdown) {
    events.push({ timeMs, level: "warning", msg: "Detected poison record, exit", code: ACRA_EVENT_CODES.poisonRecordDetectionMessage });
  }
  return events;
}

/** common/listener.go handleClientSession(): ERROR "Can't connect to db" code=540 on the session logger. */
export function dbConnectionLostEvents(timeMs: number, session: AcraSessionRef, dbAddress: string): AcraLogEvent[] {
  return [
    {
      timeMs,
      level: "error",
      msg: "Can't connect to db",
      code: ACRA_EVENT_CODES.cantConnectToDb,
      fields: { ...sessionFields(session), error: `dial tcp ${dbAddress}: connect: connection refused` },
    },
  ];
}

/** common/listener.go handleClientSession(): end of a session. */
export function sessionClosedEvents(timeMs: number, session: AcraSessionRef): AcraLogEvent[] {
  return [
    { timeMs, level: "info", msg: "Closing client's connection", fields: sessionFields(session) },
    { timeMs, level: "info", msg: "Finished processing client's connection", fields: sessionFields(session) },
  ];
}

/** acra-server.go:699/705 on SIGTERM/SIGINT. */
export function shutdownEvents(timeMs: number, pid: number): AcraLogEvent[] {
  return [
    { timeMs, level: "info", msg: "Received incoming SIGTERM or SIGINT signal" },
    { timeMs, level: "info", msg: `Server graceful shutdown completed, bye PID: ${pid}` },
  ];
}

export type MasterKeyProblem = { kind: "missing" } | { kind: "not-base64"; detail: string } | { kind: "wrong-length" };

/**
 * keystore/utils.go GetMasterKeyFromEnvironmentVariable warns, then acra-server.go fails keystore init with
 * ERROR "Can't init keystore" code=510 and exits 1. Error strings are keystore.ErrEmptyMasterKey /
 * ErrMasterKeyIncorrectLength and Go's base64 CorruptInputError.
 */
export function masterKeyRejectedEvents(timeMs: number, problem: MasterKeyProblem): AcraLogEvent[] {
  let warning: AcraLogEvent;
  let error: string;
  switch (problem.kind) {
    case "missing":
      error = "master key is empty";
      warning = { timeMs, level: "warning", msg: "ACRA_MASTER_KEY environment variable is not set" };
      break;
    case "not-base64":
      error = problem.detail;
      warning = { timeMs, level: "warning", msg: "Failed to decode ACRA_MASTER_KEY", fields: { error } };
      break;
    case "wrong-length":
      error = "master key must have 32 length in bytes";
      warning = { timeMs, level: "warning", msg: "Failed to validate ACRA_MASTER_KEY", fields: { error } };
      break;
  }
  return [warning, { timeMs, level: "error", msg: "Can't init keystore", code: ACRA_EVENT_CODES.cantInitKeyStore, fields: { error } }];
}

/**
 * A failed KMS call. Acra logs its own KMS failures without a code (kms_loader.go "Failed to decrypt
 * ACRA_MASTER_KEY with KMS keyID ..."); the periodic GenerateDataKey is the simulator's, so is this text.
 */
export function kmsFailureEvents(timeMs: number, operation: string, keyId: string, error: string): AcraLogEvent[] {
  return [{ timeMs, level: "warning", msg: `Failed to call KMS ${operation} with keyID ${keyId}`, fields: { error } }];
}

/** What Go prints (on stderr, which Enclaver captures like stdout) when a goroutine panics; exit status is 2. */
export function goPanicLines(message = "runtime error: invalid memory address or nil pointer dereference"): string[] {
  return [
    `panic: ${message}`,
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x10f6a3c]",
    "",
    "goroutine 87 [running]:",
    "github.com/cossacklabs/acra/decryptor/postgresql.(*PgProxy).ProxyDatabaseConnection(0xc0003a4000, {0x1a2b3c0, 0xc0004d6000}, 0xc00012e0c0)",
    "\t/acra/decryptor/postgresql/pg_proxy.go:412 +0x1bc",
    "created by github.com/cossacklabs/acra/cmd/acra-server/common.(*SServer).handleClientSession in goroutine 86",
    "\t/acra/cmd/acra-server/common/listener.go:219 +0x4a5",
  ];
}
