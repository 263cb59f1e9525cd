import http from "node:http";
import type net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogShipper, type LogShipper, type LogShipperOptions } from "./log-shipper";

/**
 * Just enough of CloudWatch Logs over AWS JSON 1.1 (X-Amz-Target Logs_20140328.*) to record what the real SDK sends,
 * enforce the PutLogEvents limits AWS enforces, and inject throttling.
 */
interface FakeLogs {
  endpoint: string;
  batches: { message: string; timestamp: number }[][];
  targets: string[];
  throttleNext: number;
  failAlways: boolean;
  limitViolations: string[];
  close(): Promise<void>;
}

async function startFakeLogs(opts: { groupExists?: boolean } = {}): Promise<FakeLogs> {
  const groups = new Set<string>(opts.groupExists ? ["/lab/acra"] : []);
  const streams = new Set<string>();
  const fake: FakeLogs = {
    endpoint: "",
    batches: [],
    targets: [],
    throttleNext: 0,
    failAlways: false,
    limitViolations: [],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "req-1" });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (raw += c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      fake.targets.push(target);
      const body = JSON.parse(raw || "{}") as Record<string, unknown>;
      if (!String(req.headers["content-type"]).startsWith("application/x-amz-json-1.1") || !req.headers.authorization?.startsWith("AWS4-HMAC-SHA256")) {
        return send(res, 400, { __type: "SerializationException", message: "not a signed JSON 1.1 request" });
      }
      const group = String(body.logGroupName);
      switch (target) {
        case "Logs_20140328.CreateLogGroup":
          if (groups.has(group)) return send(res, 400, { __type: "ResourceAlreadyExistsException", message: "The specified log group already exists" });
          groups.add(group);
          return send(res, 200, {});
        case "Logs_20140328.CreateLogStream": {
          const key = `${group}/${String(body.logStreamName)}`;
          if (!groups.has(group)) return send(res, 400, { __type: "ResourceNotFoundException", message: "The specified log group does not exist." });
          if (streams.has(key)) return send(res, 400, { __type: "ResourceAlreadyExistsException", message: "The specified log stream already exists" });
          streams.add(key);
          return send(res, 200, {});
        }
        case "Logs_20140328.PutLogEvents": {
          if (fake.failAlways) return send(res, 500, { __type: "ServiceUnavailableException", message: "down" });
          if (fake.throttleNext > 0) {
            fake.throttleNext -= 1;
            return send(res, 400, { __type: "ThrottlingException", message: "Rate exceeded" });
          }
          if (!streams.has(`${group}/${String(body.logStreamName)}`)) {
            return send(res, 400, { __type: "ResourceNotFoundException", message: "The specified log stream does not exist." });
          }
          const events = body.logEvents as { message: string; timestamp: number }[];
          const bytes = events.reduce((n, e) => n + Buffer.byteLength(e.message, "utf8") + 26, 0);
          if (events.length > 10_000) fake.limitViolations.push(`events ${events.length}`);
          if (bytes > 1_048_576) fake.limitViolations.push(`bytes ${bytes}`);
          if (events.some((e, i) => i > 0 && e.timestamp < (events[i - 1] as { timestamp: number }).timestamp)) fake.limitViolations.push("order");
          fake.batches.push(events);
          return send(res, 200, { nextSequenceToken: String(fake.batches.length) });
        }
        default:
          return send(res, 400, { __type: "UnknownOperationException", message: target });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return fake;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(overrides: Partial<LogShipperOptions> = {}, fakeOpts: { groupExists?: boolean } = {}) {
  const fake = await startFakeLogs(fakeOpts);
  const warnings: string[] = [];
  const shipper: LogShipper = createLogShipper({
    endpoint: fake.endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "lab-enclave", secretAccessKey: "lab-enclave-secret" },
    logGroupName: "/lab/acra",
    logStreamName: "host-1/enclave-1",
    flushIntervalMs: 50,
    retryBaseMs: 5,
    retryMaxMs: 20,
    onWarning: (m) => warnings.push(m),
    ...overrides,
  });
  cleanups.push(async () => {
    await shipper.close();
    await fake.close();
  });
  return { fake, shipper, warnings };
}

const received = (fake: FakeLogs) => fake.batches.flat().map((e) => e.message);

describe("createLogShipper", () => {
  it("creates group and stream (existing group is fine), keeps order and splits at 10,000 events", async () => {
    const { fake, shipper } = await setup({}, { groupExists: true });
    const lines = Array.from({ length: 25_000 }, (_, i) => `line ${i}`);
    const t0 = Date.now();
    lines.forEach((l, i) => shipper.push(l, t0 + Math.floor(i / 1000)));
    await shipper.flush();
    expect(fake.targets.slice(0, 2)).toEqual(["Logs_20140328.CreateLogGroup", "Logs_20140328.CreateLogStream"]);
    expect(fake.batches.map((b) => b.length)).toEqual([10_000, 10_000, 5_000]);
    expect(received(fake)).toEqual(lines);
    expect(fake.limitViolations).toEqual([]);
    expect(shipper.stats()).toMatchObject({ sent: 25_000, queued: 0, dropped: 0, batches: 3 });
  });

  it("splits at 1 MB counting message bytes + 26 per event, and keeps timestamps chronological", async () => {
    const { fake, shipper } = await setup();
    const big = "é".repeat(4096); // 8192 UTF-8 bytes
    const t0 = Date.now();
    for (let i = 0; i < 300; i += 1) shipper.push(`${String(i).padStart(3, "0")}${big}`, t0 - i); // clock going backwards
    await shipper.flush();
    const perBatch = Math.floor(1_048_576 / (8192 + 3 + 26));
    expect(fake.batches.map((b) => b.length)).toEqual([perBatch, perBatch, 300 - 2 * perBatch]);
    expect(fake.limitViolations).toEqual([]);
    expect(received(fake).map((m) => Number(m.slice(0, 3)))).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it("retries a throttled batch without losing or duplicating a line", async () => {
    const { fake, shipper, warnings } = await setup();
    fake.throttleNext = 3;
    const lines = Array.from({ length: 50 }, (_, i) => `acra ${i}`);
    for (const l of lines) shipper.push(l);
    await shipper.flush();
    expect(received(fake)).toEqual(lines);
    expect(fake.targets.filter((t) => t.endsWith("PutLogEvents"))).toHaveLength(4);
    expect(shipper.stats().retries).toBe(3);
    expect(warnings.some((w) => w.includes("ThrottlingException"))).toBe(true);
  });

  it("bounded memory: drops the oldest lines not in flight, counts them and warns", async () => {
    const { fake, shipper, warnings } = await setup({ maxBatch: 10, maxQueuedEvents: 20 });
    fake.throttleNext = 5;
    const lines = Array.from({ length: 50 }, (_, i) => `l${i}`);
    for (const l of lines) shipper.push(l);
    expect(shipper.stats()).toMatchObject({ dropped: 30, queued: 20 });
    await shipper.flush();
    // The first 10 were already in the request under way; the newest 10 survive.
    expect(received(fake)).toEqual([...lines.slice(0, 10), ...lines.slice(40)]);
    expect(warnings.some((w) => w.includes("dropped"))).toBe(true);
  });

  it("close() gives up after closeTimeoutMs when CloudWatch stays down, counting what it could not send", async () => {
    const { fake, shipper } = await setup({ closeTimeoutMs: 200 });
    fake.failAlways = true;
    for (let i = 0; i < 5; i += 1) shipper.push(`x${i}`);
    const started = Date.now();
    await shipper.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(shipper.stats()).toMatchObject({ sent: 0, dropped: 5, queued: 0 });
  });
});
