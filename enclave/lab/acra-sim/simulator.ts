/**
 * The simulated acra-server: a TCP listener standing in for the SQL proxy port (accept = healthy), Prometheus
 * /metrics, simulated client traffic logged in the configured format, periodic KMS GenerateDataKey through the
 * (fake) Odyn KMS proxy, and a lab-only control API to inject the situations the console must show.
 * main.ts wires it to the process (env, stdout, exit codes, SIGTERM); tests can drive it in-process.
 */
import http from "node:http";
import net from "node:net";
import { GenerateDataKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  censorBlockEvents,
  clientConnectedEvents,
  dbConnectionLostEvents,
  decryptionFailureEvents,
  decryptionOkEvents,
  goPanicLines,
  kmsFailureEvents,
  poisonRecognizedEvents,
  sessionClosedEvents,
  sessionStartedEvents,
  shutdownEvents,
  startupEvents,
  type AcraSessionRef,
} from "./acra-events";
import { formatAcraLogLine, type AcraLogEvent } from "./log-format";
import { createAcraMetrics, type AcraMetrics, type ContainerType } from "./metrics";
import type { AcraSimConfig } from "./sim-config";

export interface AcraSimIo {
  /** Writes one complete line (no newline) to the log stream. */
  writeLine(line: string): void;
  /** Ends the process (or, in tests, records the exit). Called once, after the last line was written. */
  exit(code: number): void;
  now?: () => number;
  pid?: number;
}

export interface AcraSimStatus {
  accepting: boolean;
  dbLost: boolean;
  sessions: number;
  kms: { calls: number; failures: number; lastError?: string };
}

export interface AcraSimulator {
  readonly metrics: AcraMetrics;
  status(): AcraSimStatus;
  /** SIGTERM: clean shutdown lines, servers closed, exit(0). */
  shutdown(): Promise<void>;
}

const DB_ADDRESS = "10.0.2.5:5432";
const CONTAINER_TYPES: ContainerType[] = ["acrablock", "acrastruct", "acrablock_searchable"];

interface QueuedLine {
  event: AcraLogEvent;
  /** Metric side effects happen when the line is printed, so /metrics and the log tell the same story. */
  effect?: () => void;
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    if ("closeAllConnections" in server && typeof server.closeAllConnections === "function") server.closeAllConnections();
  });
}

export async function startAcraSimulator(config: AcraSimConfig, io: AcraSimIo): Promise<AcraSimulator> {
  const now = io.now ?? Date.now;
  const pid = io.pid ?? process.pid;
  const metrics = createAcraMetrics(config.version);
  const connectionString = `tcp://0.0.0.0:${config.port}/`;
  let nextSessionId = 1;
  let dbLost = false;
  let stopping = false;
  let exited = false;
  const kmsState: AcraSimStatus["kms"] = { calls: 0, failures: 0 };
  const queue: QueuedLine[] = [];
  const openSockets = new Set<net.Socket>();

  const print = (events: AcraLogEvent[]) => {
    for (const event of events) io.writeLine(formatAcraLogLine(event, config.logFormat, { version: config.version }));
  };
  const exitOnce = (code: number) => {
    if (exited) return;
    exited = true;
    stopTimers();
    io.exit(code);
  };
  const newSession = (): AcraSessionRef => ({ clientId: config.clientId, sessionId: nextSessionId++ });

  // --- the SQL proxy port: accepting = healthy. Probes are counted, not logged (a supervisor probes every second).
  const acraServer = net.createServer((socket) => {
    metrics.incConnection("db");
    openSockets.add(socket);
    socket.on("close", () => openSockets.delete(socket));
    socket.on("error", () => socket.destroy());
    socket.end();
  });
  const startAccepting = () => listen(acraServer, config.port, config.host);
  const stopAccepting = async () => {
    for (const s of openSockets) s.destroy();
    await closeServer(acraServer);
  };

  // --- traffic
  function enqueueSession(): void {
    const t = now();
    const session = newSession();
    const remote = `10.0.1.${10 + (session.sessionId % 200)}:${40000 + ((session.sessionId * 7919) % 20000)}`;
    const started = t;
    queue.push(
      ...clientConnectedEvents(t, remote, connectionString).map((event) => ({ event, effect: () => metrics.incConnection("db") })),
      ...sessionStartedEvents(t, session).map((event) => ({ event })),
    );
    const decryptions = 1 + (session.sessionId % 3);
    for (let i = 0; i < decryptions; i += 1) {
      const type = CONTAINER_TYPES[(session.sessionId + i) % CONTAINER_TYPES.length] as ContainerType;
      queue.push(
        ...decryptionOkEvents(t, session, type).map((event) => ({
          event,
          effect: () => {
            metrics.incDecryption("success", type);
            metrics.observeRequestSeconds("postgresql", 0.002 + (i % 5) * 0.001);
            metrics.observeResponseSeconds("postgresql", 0.004 + (i % 7) * 0.002);
          },
        })),
      );
    }
    queue.push(
      ...sessionClosedEvents(t, session).map((event, i) => ({
        event,
        effect: i === 0 ? () => metrics.observeConnectionSeconds("db", (now() - started) / 1000) : undefined,
      })),
    );
  }

  function tick(): void {
    if (dbLost || stopping) return;
    if (queue.length === 0) enqueueSession();
    const next = queue.shift();
    if (!next) return;
    // Lines carry the time they are printed, like a live logger.
    print([{ ...next.event, timeMs: now() }]);
    next.effect?.();
  }

  // --- KMS
  const kmsClient = config.kms
    ? new KMSClient({
        endpoint: config.kms.endpoint,
        region: config.kms.region,
        // The Odyn KMS proxy re-signs with the instance role; what the app signs with does not matter.
        credentials: { accessKeyId: "acra-sim", secretAccessKey: "acra-sim-unused-secret" },
        maxAttempts: 1,
        requestHandler: { requestTimeout: 5000, connectionTimeout: 2000 },
      })
    : null;
  async function kmsCall(): Promise<void> {
    if (!kmsClient || !config.kms || stopping) return;
    kmsState.calls += 1;
    try {
      await kmsClient.send(new GenerateDataKeyCommand({ KeyId: config.kms.keyId, KeySpec: "AES_256" }));
    } catch (error) {
      kmsState.failures += 1;
      const err = error as { name?: string; message?: string };
      // Shaped like the Go SDK's error text Acra prints ("operation error KMS: Decrypt, ...").
      kmsState.lastError = `operation error KMS: GenerateDataKey, ${err.name ?? "Error"}: ${err.message ?? String(error)}`;
      if (!stopping) print(kmsFailureEvents(now(), "GenerateDataKey", config.kms.keyId, kmsState.lastError));
    }
  }

  // --- timers
  const timers: NodeJS.Timeout[] = [];
  function stopTimers(): void {
    for (const t of timers) clearInterval(t);
  }

  // --- control API (lab only)
  async function handleControl(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    try {
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (text) body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return reply(res, 400, { error: "body must be JSON" });
    }
    const url = new URL(req.url ?? "/", "http://control");
    if (req.method === "GET" && url.pathname === "/status") return reply(res, 200, status());
    if (req.method !== "POST") return reply(res, 405, { error: "POST only" });
    const session: AcraSessionRef = {
      clientId: typeof body.clientId === "string" && body.clientId ? body.clientId : config.clientId,
      sessionId: nextSessionId++,
    };
    const t = now();
    switch (url.pathname) {
      case "/inject/poison": {
        print(poisonRecognizedEvents(t, session, { shutdown: config.poisonShutdown }));
        if (config.poisonShutdown) {
          // StopCallback: os.Exit(1) right after the 101 line; no graceful shutdown lines.
          res.once("finish", () => exitOnce(1));
          return reply(res, 200, { injected: "poison", session, exiting: 1 });
        }
        return reply(res, 200, { injected: "poison", session });
      }
      case "/inject/decrypt-failure":
        print(decryptionFailureEvents(t, session));
        metrics.incDecryption("fail", "acrablock");
        return reply(res, 200, { injected: "decrypt-failure", session });
      case "/inject/censor-block":
        print(censorBlockEvents(t, session));
        return reply(res, 200, { injected: "censor-block", session });
      case "/inject/db-lost":
        print(dbConnectionLostEvents(t, session, DB_ADDRESS));
        dbLost = true;
        await stopAccepting();
        return reply(res, 200, { injected: "db-lost", session, accepting: false });
      case "/inject/db-restored":
        if (dbLost) {
          dbLost = false;
          await startAccepting();
        }
        return reply(res, 200, { injected: "db-restored", accepting: true });
      case "/inject/crash":
        res.once("finish", () => {
          for (const line of goPanicLines()) io.writeLine(line);
          exitOnce(2);
        });
        return reply(res, 200, { injected: "crash", exiting: 2 });
      default:
        return reply(res, 404, { error: `unknown control path ${url.pathname}` });
    }
  }

  function reply(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  function status(): AcraSimStatus {
    return { accepting: acraServer.listening, dbLost, sessions: nextSessionId - 1, kms: { ...kmsState } };
  }

  const metricsServer = http.createServer((req, res) => {
    if (req.method === "GET" && (req.url ?? "").split("?")[0] === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(metrics.render());
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("404 page not found\n");
  });
  const controlServer = http.createServer((req, res) => {
    handleControl(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, { error: String(error) });
    });
  });

  // --- start-up: the real sequence, then listeners, then traffic.
  print(startupEvents(now(), { pid, version: config.version, connectionString, poisonDetection: true, poisonShutdown: config.poisonShutdown }));
  await listen(metricsServer, config.metricsPort, config.host);
  await listen(controlServer, config.controlPort, config.host);
  await startAccepting();

  if (config.ratePerSecond > 0) timers.push(setInterval(tick, Math.max(1, Math.round(1000 / config.ratePerSecond))));
  if (config.kms) {
    void kmsCall();
    timers.push(setInterval(() => void kmsCall(), config.kms.intervalMs));
  }

  return {
    metrics,
    status,
    async shutdown() {
      if (stopping || exited) return;
      stopping = true;
      stopTimers();
      print(shutdownEvents(now(), pid).slice(0, 1));
      await Promise.all([stopAccepting(), closeServer(metricsServer), closeServer(controlServer)]);
      kmsClient?.destroy();
      print(shutdownEvents(now(), pid).slice(1));
      exitOnce(0);
    },
  };
}
