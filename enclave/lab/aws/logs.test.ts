import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
  GetQueryResultsCommand,
  PutLogEventsCommand,
  StartQueryCommand,
  StopQueryCommand,
  type FilteredLogEvent,
  type OutputLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import { labAwsClientConfig, type LabPrincipalName } from "./principals";
import { REGION, startEmulator } from "./test-support";
import type { AwsEmulator } from "./emulator";

let emulator: AwsEmulator;
const GROUP = "/acra/acra-server";
const T0 = Date.now() - 3_600_000;
const logs = (who: LabPrincipalName = "admin") => new CloudWatchLogsClient({ ...labAwsClientConfig(emulator.endpoint, REGION, who), maxAttempts: 1 });

const line = (i: number) =>
  i % 5 === 0
    ? JSON.stringify({ client_id: `app${i % 3}`, code: 587, level: "warning", msg: "Recognized poison record", session_id: i, seq: i })
    : JSON.stringify({ level: "info", msg: "Handle client's connection", seq: i });

beforeAll(async () => {
  ({ emulator } = await startEmulator());
  const admin = logs();
  await admin.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
  for (const stream of ["host-a", "host-b"]) {
    await admin.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream }));
  }
  // 6,000 events: even seq on host-a, odd on host-b, one per 100 ms, in batches of 1,500.
  for (const stream of ["host-a", "host-b"]) {
    const events = Array.from({ length: 3000 }, (_, k) => {
      const i = k * 2 + (stream === "host-a" ? 0 : 1);
      return { timestamp: T0 + i * 100, message: line(i) };
    });
    for (let b = 0; b < events.length; b += 1500) {
      await admin.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, logEvents: events.slice(b, b + 1500), sequenceToken: "ignored" }));
    }
  }
});
afterAll(async () => {
  await emulator.close();
});

describe("log groups and streams", () => {
  it("creates, describes with paging, and refuses duplicates and missing groups", async () => {
    const admin = logs();
    await expect(admin.send(new CreateLogGroupCommand({ logGroupName: GROUP }))).rejects.toMatchObject({ name: "ResourceAlreadyExistsException" });
    await expect(admin.send(new CreateLogStreamCommand({ logGroupName: "/missing", logStreamName: "x" }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    for (let i = 0; i < 3; i++) await admin.send(new CreateLogGroupCommand({ logGroupName: `/paging/g${i}` }));
    const first = await admin.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/paging/", limit: 2 }));
    const second = await admin.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/paging/", limit: 2, nextToken: first.nextToken }));
    expect([...(first.logGroups ?? []), ...(second.logGroups ?? [])].map((g) => g.logGroupName)).toEqual(["/paging/g0", "/paging/g1", "/paging/g2"]);
    expect(second.nextToken).toBeUndefined();
    const streams = await admin.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: "LastEventTime", descending: true }));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toEqual(["host-b", "host-a"]);
    expect(streams.logStreams?.[0]).toMatchObject({ firstEventTimestamp: T0 + 100, lastEventTimestamp: T0 + 5999 * 100 });
  });

  it("enforces PutLogEvents batch rules and reports refused old/new events", async () => {
    const admin = logs();
    const put = (logEvents: { timestamp: number; message: string }[]) => admin.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: "host-a", logEvents }));
    const now = Date.now();
    await expect(put([{ timestamp: now, message: "b" }, { timestamp: now - 1, message: "a" }])).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: expect.stringContaining("chronological"),
    });
    await expect(put(Array.from({ length: 10_001 }, () => ({ timestamp: now, message: "x" })))).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(put(Array.from({ length: 5 }, () => ({ timestamp: now, message: "x".repeat(250_000) })))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: expect.stringContaining("Upload too large"),
    });
    await expect(put([{ timestamp: now - 25 * 3_600_000, message: "a" }, { timestamp: now, message: "b" }])).rejects.toMatchObject({
      message: expect.stringContaining("cannot span more than 24 hours"),
    });
    const old = await put([
      { timestamp: now - 14 * 86_400_000 - 3_600_000, message: "too old" },
      { timestamp: now - 14 * 86_400_000 - 3_600_000 + 1, message: "too old too" },
      { timestamp: now - 14 * 86_400_000 + 3_600_000, message: "fine" },
    ]);
    expect(old.rejectedLogEventsInfo).toEqual({ tooOldLogEventEndIndex: 1 });
    const fresh = await put([
      { timestamp: now, message: "fine" },
      { timestamp: now + 3 * 3_600_000, message: "too new" },
    ]);
    expect(fresh.rejectedLogEventsInfo).toEqual({ tooNewLogEventStartIndex: 1 });
    await expect(logs("console").send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: "host-a", logEvents: [{ timestamp: now, message: "x" }] }))).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
  });
});

describe("reading events", () => {
  it("GetLogEvents pages forward from the head until the token repeats, and backward from the tail", async () => {
    const client = logs("console");
    const forward: OutputLogEvent[] = [];
    let token: string | undefined;
    for (let guard = 0; guard < 20; guard++) {
      const page = await client.send(
        new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: "host-b", startFromHead: true, limit: 700, nextToken: token, endTime: T0 + 6000 * 100 }),
      );
      forward.push(...(page.events ?? []));
      if (page.nextForwardToken === token) break;
      token = page.nextForwardToken;
    }
    expect(forward).toHaveLength(3000);
    expect(forward.map((e) => JSON.parse(e.message ?? "{}").seq)).toEqual(Array.from({ length: 3000 }, (_, k) => k * 2 + 1));

    const backward: OutputLogEvent[] = [];
    token = undefined;
    for (let guard = 0; guard < 20; guard++) {
      const page: GetLogEventsCommandOutput = await client.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: "host-b", limit: 1000, nextToken: token }));
      expect(page.events?.length ?? 0).toBeLessThanOrEqual(1000);
      backward.unshift(...(page.events ?? []));
      if (page.nextBackwardToken === token) break;
      token = page.nextBackwardToken;
    }
    expect(backward.map((e) => e.timestamp)).toEqual(forward.map((e) => e.timestamp));
  });

  it("FilterLogEvents pages across streams in time order and applies filter patterns", async () => {
    const client = logs("console");
    const all: FilteredLogEvent[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 700, nextToken: token, startTime: T0, endTime: T0 + 6000 * 100 }));
      expect(page.events?.length ?? 0).toBeLessThanOrEqual(700);
      all.push(...(page.events ?? []));
      token = page.nextToken;
      pages++;
    } while (token);
    expect(pages).toBe(9);
    expect(all).toHaveLength(6000);
    expect(new Set(all.map((e) => e.eventId)).size).toBe(6000);
    expect(all.map((e) => JSON.parse(e.message ?? "{}").seq)).toEqual(Array.from({ length: 6000 }, (_, i) => i));

    const count = async (input: { filterPattern?: string; logStreamNames?: string[]; logStreamNamePrefix?: string; startTime?: number }) => {
      let n = 0;
      let next: string | undefined;
      do {
        const page = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, ...input, nextToken: next, limit: 250 }));
        n += page.events?.length ?? 0;
        next = page.nextToken;
      } while (next);
      return n;
    };
    expect(await count({ filterPattern: "{ $.code = 587 }" })).toBe(1200);
    expect(await count({ filterPattern: '{ ($.code = 587) && ($.client_id = "app1") }' })).toBe(400);
    expect(await count({ filterPattern: '"Recognized poison record"', logStreamNames: ["host-b"] })).toBe(600);
    expect(await count({ filterPattern: "?app1 ?app2 -seq", logStreamNamePrefix: "host-" })).toBe(0);
    expect(await count({ filterPattern: "warning", startTime: T0 + 3000 * 100 })).toBe(600);

    const first = await client.send(new FilterLogEventsCommand({ logGroupName: GROUP, limit: 5 }));
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: "x", nextToken: first.nextToken }))).rejects.toMatchObject({
      name: "InvalidParameterException",
    });
    await expect(client.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: "{ $.code = " }))).rejects.toMatchObject({ name: "InvalidParameterException" });
  });

  it("runs Insights queries: Running, then Complete with counts", async () => {
    const client = logs("console");
    const start = Math.floor(T0 / 1000);
    const end = Math.ceil((T0 + 6000 * 100) / 1000);
    const { queryId } = await client.send(
      new StartQueryCommand({ logGroupName: GROUP, startTime: start, endTime: end, queryString: "filter code = 587 | stats count(*) as hits by client_id | sort client_id" }),
    );
    const running = await client.send(new GetQueryResultsCommand({ queryId }));
    expect(running.status).toBe("Running");
    const done = await client.send(new GetQueryResultsCommand({ queryId }));
    expect(done.status).toBe("Complete");
    expect(done.results?.map((row) => Object.fromEntries(row.map((c) => [c.field, c.value])))).toEqual([
      { client_id: "app0", hits: "400" },
      { client_id: "app1", hits: "400" },
      { client_id: "app2", hits: "400" },
    ]);
    expect(done.statistics).toMatchObject({ recordsMatched: 1200, recordsScanned: 6000 });

    const binned = await client.send(
      new StartQueryCommand({ logGroupIdentifiers: [GROUP], startTime: start, endTime: end, queryString: "filter @message like /poison/ | stats count(*) as n by bin(5m)" }),
    );
    await client.send(new GetQueryResultsCommand({ queryId: binned.queryId }));
    const bins = await client.send(new GetQueryResultsCommand({ queryId: binned.queryId }));
    const total = (bins.results ?? []).reduce((sum, row) => sum + Number(row.find((c) => c.field === "n")?.value), 0);
    expect(total).toBe(1200);

    const stopped = await client.send(new StartQueryCommand({ logGroupName: GROUP, startTime: start, endTime: end, queryString: "fields @message" }));
    expect((await client.send(new StopQueryCommand({ queryId: stopped.queryId }))).success).toBe(true);
    expect((await client.send(new GetQueryResultsCommand({ queryId: stopped.queryId }))).status).toBe("Cancelled");
    await expect(client.send(new StartQueryCommand({ logGroupName: GROUP, startTime: start, endTime: end, queryString: "explode everything" }))).rejects.toMatchObject({
      name: "MalformedQueryException",
    });
  });
});
