/**
 * The lab's AWS endpoint: one node:http server speaking AWS JSON 1.1 (POST /, `X-Amz-Target`,
 * `application/x-amz-json-1.1`, SigV4) for KMS, CloudTrail and CloudWatch Logs, so the console's real AWS SDK v3
 * clients work against it unchanged (`endpoint: emulator.endpoint`).
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { AwsError } from "./errors";
import { verifySigV4 } from "./sigv4";
import { openStore } from "./store";
import { CloudTrail } from "./cloudtrail";
import { Kms, type AttestationVerifier, type PcrEncoding } from "./kms";
import { Logs } from "./logs";
import { DEFAULT_LAB_CREDENTIALS, resolvePrincipal, type LabCredential, type Principal } from "./principals";
import type { CallContext, Clock, JsonObject } from "./context";

export interface AwsEmulatorOptions {
  /** Folder for `aws-emulator.db`; the same folder after a restart keeps keys, events and logs. */
  dataDir: string;
  /** 0 or absent: an ephemeral port. */
  port?: number;
  host?: string;
  /** Accepted access keys and the principals they act as (default: the four lab credentials). */
  credentials?: LabCredential[];
  accountId: string;
  regions: string[];
  attestationVerifier: AttestationVerifier;
  /** LookupEvents rate per region (AWS: 2 per second per account per region). */
  throttle?: { cloudTrailPerSecond: number };
  clock?: Clock;
  /** How CloudTrail writes attestation PCRs in `additionalEventData.recipient` (default hex, as the AWS docs show). */
  cloudTrailPcrEncoding?: PcrEncoding;
}

export interface AwsEmulatorCounters {
  requests: number;
  /** Requests refused by SigV4 checks (unknown key, bad signature, skew). */
  authFailures: number;
  /** LookupEvents calls refused with ThrottlingException. */
  throttled: number;
  /** Successful and failed calls per `Service.Operation`. */
  byOperation: Record<string, number>;
}

export interface AwsEmulatorState {
  counters: AwsEmulatorCounters;
  /** Appends an arbitrary CloudTrail event (lab only, not on the wire): `awsRegion` picks the region. */
  appendCloudTrailEvent(event: JsonObject): { eventId: string; eventTime: string };
  /** Number of stored CloudTrail events, in one region or all. */
  cloudTrailEventCount(region?: string): number;
  /** Runs automatic key rotations that have come due by the emulator's clock. */
  runScheduledRotations(): void;
}

export interface AwsEmulator {
  endpoint: string;
  port: number;
  close(): Promise<void>;
  state: AwsEmulatorState;
}

const SERVICES: { prefixes: string[]; service: "kms" | "cloudtrail" | "logs" }[] = [
  { prefixes: ["TrentService."], service: "kms" },
  // The SDK sends `CloudTrail_20131101.X`; AWS's documented form is the fully qualified one. Accept both.
  { prefixes: ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "CloudTrail_20131101."], service: "cloudtrail" },
  { prefixes: ["Logs_20140328."], service: "logs" },
];

const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** A token bucket per region: `rate` tokens per second, burst of `rate`. */
class RegionThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly rate: number) {}

  take(region: string, now: number): boolean {
    const bucket = this.buckets.get(region) ?? { tokens: this.rate, at: now };
    bucket.tokens = Math.min(this.rate, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.set(region, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new AwsError("SerializationException", "Request body too large", 413));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function createAwsEmulator(options: AwsEmulatorOptions): Promise<AwsEmulator> {
  const clock = options.clock ?? Date.now;
  const regions = [...options.regions];
  const credentials = options.credentials ?? DEFAULT_LAB_CREDENTIALS;
  const principals = new Map<string, { secret: string; principal: Principal }>();
  for (const credential of credentials) {
    principals.set(credential.accessKeyId, { secret: credential.secretAccessKey, principal: resolvePrincipal(credential, options.accountId) });
  }
  const db = openStore(options.dataDir);
  const cloudTrail = new CloudTrail(db, regions);
  const kms = new Kms(db, cloudTrail, options.attestationVerifier, options.cloudTrailPcrEncoding ?? "hex");
  const logs = new Logs(db);
  const throttle = new RegionThrottle(options.throttle?.cloudTrailPerSecond ?? 2);
  const counters: AwsEmulatorCounters = { requests: 0, authFailures: 0, throttled: 0, byOperation: {} };

  async function serve(req: http.IncomingMessage, body: Buffer, requestId: string): Promise<JsonObject> {
    if (req.method !== "POST") throw new AwsError("UnknownOperationException", "Only POST / is served.", 404);
    const target = String(req.headers["x-amz-target"] ?? "");
    const route = SERVICES.flatMap((s) => s.prefixes.map((prefix) => ({ prefix, service: s.service }))).find((r) => target.startsWith(r.prefix));
    if (!route) throw new AwsError("UnknownOperationException", "");
    const operation = target.slice(route.prefix.length);
    const now = clock();
    let caller;
    try {
      caller = verifySigV4(
        { method: req.method, url: req.url ?? "/", headers: req.headers, body },
        (accessKeyId) => principals.get(accessKeyId)?.secret,
        route.service,
        // Clients sign with their real clocks, so the ±15 min window is checked against wall time even when the
        // emulator's own clock (event times, rotation schedules) has been moved.
        Date.now(),
      );
    } catch (error) {
      counters.authFailures++;
      throw error;
    }
    if (!regions.includes(caller.region)) {
      throw new AwsError("UnrecognizedClientException", `The security token included in the request is invalid. (region ${caller.region} is not served by the lab)`);
    }
    const contentType = String(req.headers["content-type"] ?? "");
    if (!contentType.startsWith("application/x-amz-json-1.1")) {
      throw new AwsError("SerializationException", `Unsupported content type: ${contentType}`);
    }
    let input: JsonObject;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      input = parsed as JsonObject;
    } catch {
      throw new AwsError("SerializationException", "Start of structure or map found where not expected.");
    }
    const principal = principals.get(caller.accessKeyId)?.principal;
    if (!principal) throw new AwsError("UnrecognizedClientException", "The security token included in the request is invalid.");
    const key = `${route.service}.${operation}`;
    counters.byOperation[key] = (counters.byOperation[key] ?? 0) + 1;
    const ctx: CallContext = {
      region: caller.region,
      accountId: options.accountId,
      principal,
      requestId,
      sourceIp: (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, ""),
      userAgent: String(req.headers["user-agent"] ?? "unknown"),
      now,
      operation,
    };
    switch (route.service) {
      case "kms":
        return kms.handle(ctx, input);
      case "logs":
        return logs.handle(ctx, input);
      case "cloudtrail": {
        if (operation !== "LookupEvents") throw new AwsError("UnknownOperationException", "");
        if (!principal.identityPolicy.some((p) => /^cloudtrail:(\*|LookupEvents)$/i.test(p))) {
          throw new AwsError(
            "AccessDeniedException",
            `User: ${principal.arn} is not authorized to perform: cloudtrail:LookupEvents because no identity-based policy allows the cloudtrail:LookupEvents action`,
          );
        }
        if (!throttle.take(ctx.region, now)) {
          counters.throttled++;
          throw new AwsError("ThrottlingException", "Rate exceeded");
        }
        kms.sweepRotations(ctx.region, now);
        return cloudTrail.lookupEvents(ctx, input);
      }
    }
  }

  const server = http.createServer((req, res) => {
    counters.requests++;
    const requestId = crypto.randomUUID();
    const send = (status: number, payload: JsonObject, errorType?: string) => {
      const text = JSON.stringify(payload);
      const headers: Record<string, string | number> = {
        "content-type": "application/x-amz-json-1.1",
        "content-length": Buffer.byteLength(text),
        "x-amzn-requestid": requestId,
      };
      if (errorType) headers["x-amzn-errortype"] = errorType;
      res.writeHead(status, headers);
      res.end(text);
    };
    readBody(req)
      .then((body) => serve(req, body, requestId))
      .then(
        (output) => send(200, output),
        (error: unknown) => {
          if (error instanceof AwsError) {
            send(error.status, { __type: error.type, message: error.message }, error.type);
          } else {
            console.error("aws-emulator: internal error", error);
            send(500, { __type: "InternalFailure", message: "The request processing has failed because of an unknown error." }, "InternalFailure");
          }
        },
      );
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  const endpointHost = host.includes(":") ? `[${host}]` : host;

  return {
    endpoint: `http://${endpointHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => {
          db.close();
          if (error) reject(error);
          else resolve();
        });
      }),
    state: {
      counters,
      appendCloudTrailEvent: (event) => cloudTrail.append(event, clock()),
      cloudTrailEventCount: (region) => cloudTrail.count(region),
      runScheduledRotations: () => {
        for (const region of regions) kms.sweepRotations(region, clock());
      },
    },
  };
}
