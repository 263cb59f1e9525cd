/**
 * Emulated CloudWatch Logs (Logs_20140328): log groups and streams, PutLogEvents with AWS's batch rules,
 * GetLogEvents (forward/backward tokens), FilterLogEvents (filter patterns, paging that may return empty pages
 * with a token, as AWS does) and a subset of Logs Insights (StartQuery/GetQueryResults/StopQuery).
 */
import crypto from "node:crypto";
import { AwsError, invalidParameter } from "./errors";
import type { Db } from "./store";
import type { CallContext, JsonObject } from "./context";
import { identityAllows } from "./key-policy";
import { compileFilterPattern, FilterPatternError } from "./filter-pattern";
import { InsightsQueryError, parseInsightsQuery, runInsightsQuery, type InsightsResult } from "./insights";

const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD = 26;
const MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD;
const DAY_MS = 86_400_000;
/** FilterLogEvents stops scanning after this many stored events and returns a token, possibly with no events. */
const FILTER_SCAN_BUDGET = 50_000;
const MAX_RUNNING_QUERIES = 30;

interface EventRow {
  seq: number;
  stream: string;
  ts: number;
  ingestion_ms: number;
  message: string;
}

interface Query {
  id: string;
  region: string;
  status: "Scheduled" | "Running" | "Complete" | "Cancelled";
  result: InsightsResult;
  polls: number;
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0");
/** A position in a stream's (timestamp, seq) order, as the digits inside AWS-looking tokens. */
const position = (ts: number, seq: number): string => `${pad(ts, 16)}${pad(seq, 20)}`;

function parsePosition(token: string, direction: "f" | "b"): { ts: number; seq: number } {
  const m = /^([fb])\/(\d{36})\/s$/.exec(token);
  if (!m || m[1] !== direction) throw invalidParameter("The specified nextToken is invalid.");
  const digits = m[2] ?? "";
  return { ts: Number(digits.slice(0, 16)), seq: Number(digits.slice(16)) };
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw invalidParameter(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function checkLimit(value: unknown, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalidParameter(`1 validation error detected: Value '${String(value)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and ${max}`);
  }
  return value;
}

function offsetToken(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}

function readOffsetToken(token: unknown): number {
  if (token === undefined) return 0;
  const m = typeof token === "string" ? /^o:(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8")) : null;
  if (!m) throw invalidParameter("The specified nextToken is invalid.");
  return Number(m[1]);
}

export class Logs {
  private readonly queries = new Map<string, Query>();

  constructor(private readonly db: Db) {}

  handle(ctx: CallContext, input: JsonObject): JsonObject {
    const action = `logs:${ctx.operation}`;
    if (!identityAllows(ctx.principal, action)) {
      throw new AwsError(
        "AccessDeniedException",
        `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:* because no identity-based policy allows the ${action} action`,
      );
    }
    switch (ctx.operation) {
      case "CreateLogGroup":
        return this.createLogGroup(ctx, input);
      case "CreateLogStream":
        return this.createLogStream(ctx, input);
      case "DescribeLogGroups":
        return this.describeLogGroups(ctx, input);
      case "DescribeLogStreams":
        return this.describeLogStreams(ctx, input);
      case "PutLogEvents":
        return this.putLogEvents(ctx, input);
      case "GetLogEvents":
        return this.getLogEvents(ctx, input);
      case "FilterLogEvents":
        return this.filterLogEvents(ctx, input);
      case "StartQuery":
        return this.startQuery(ctx, input);
      case "GetQueryResults":
        return this.getQueryResults(ctx, input);
      case "StopQuery":
        return this.stopQuery(ctx, input);
      default:
        throw new AwsError("UnknownOperationException", "");
    }
  }

  /** logGroupName, or logGroupIdentifier (a name or an ARN). */
  private groupName(ctx: CallContext, input: JsonObject): string {
    const identifier = input.logGroupIdentifier ?? input.logGroupName;
    const name = requireString(identifier, "logGroupName");
    const arn = /^arn:aws:logs:([^:]+):(\d{12}):log-group:([^:]+)(:\*)?$/.exec(name);
    const resolved = arn ? (arn[3] ?? "") : name;
    const exists = this.db.prepare("SELECT 1 FROM log_groups WHERE region = ? AND name = ?").get(ctx.region, resolved);
    if (!exists || (arn && (arn[1] !== ctx.region || arn[2] !== ctx.accountId))) {
      throw new AwsError("ResourceNotFoundException", "The specified log group does not exist.");
    }
    return resolved;
  }

  private groupArn(ctx: CallContext, name: string): string {
    return `arn:aws:logs:${ctx.region}:${ctx.accountId}:log-group:${name}`;
  }

  private createLogGroup(ctx: CallContext, input: JsonObject): JsonObject {
    const name = requireString(input.logGroupName, "logGroupName");
    if (!/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) {
      throw invalidParameter("1 validation error detected: Value at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");
    }
    const exists = this.db.prepare("SELECT 1 FROM log_groups WHERE region = ? AND name = ?").get(ctx.region, name);
    if (exists) throw new AwsError("ResourceAlreadyExistsException", "The specified log group already exists");
    this.db.prepare("INSERT INTO log_groups (region, name, created_ms) VALUES (?, ?, ?)").run(ctx.region, name, ctx.now);
    return {};
  }

  private createLogStream(ctx: CallContext, input: JsonObject): JsonObject {
    const group = this.groupName(ctx, input);
    const name = requireString(input.logStreamName, "logStreamName");
    if (name.length > 512 || /[:*]/.test(name)) {
      throw invalidParameter("1 validation error detected: Value at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*");
    }
    const exists = this.db.prepare("SELECT 1 FROM log_streams WHERE region = ? AND group_name = ? AND name = ?").get(ctx.region, group, name);
    if (exists) throw new AwsError("ResourceAlreadyExistsException", "The specified log stream already exists");
    this.db.prepare("INSERT INTO log_streams (region, group_name, name, created_ms) VALUES (?, ?, ?, ?)").run(ctx.region, group, name, ctx.now);
    return {};
  }

  private describeLogGroups(ctx: CallContext, input: JsonObject): JsonObject {
    const limit = checkLimit(input.limit, 50, 50);
    const offset = readOffsetToken(input.nextToken);
    const prefix = typeof input.logGroupNamePrefix === "string" ? input.logGroupNamePrefix : "";
    const pattern = typeof input.logGroupNamePattern === "string" ? input.logGroupNamePattern.toLowerCase() : undefined;
    if (prefix && pattern !== undefined) throw invalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
    const rows = (
      this.db
        .prepare(
          `SELECT g.name, g.created_ms, g.retention_days, COALESCE(SUM(s.stored_bytes), 0) AS bytes
           FROM log_groups g LEFT JOIN log_streams s ON s.region = g.region AND s.group_name = g.name
           WHERE g.region = ? GROUP BY g.name ORDER BY g.name`,
        )
        .all(ctx.region) as { name: string; created_ms: number; retention_days: number | null; bytes: number }[]
    ).filter((row) => row.name.startsWith(prefix) && (pattern === undefined || row.name.toLowerCase().includes(pattern)));
    const page = rows.slice(offset, offset + limit);
    const out: JsonObject = {
      logGroups: page.map((row) => ({
        logGroupName: row.name,
        creationTime: row.created_ms,
        ...(row.retention_days !== null ? { retentionInDays: row.retention_days } : {}),
        metricFilterCount: 0,
        arn: `${this.groupArn(ctx, row.name)}:*`,
        logGroupArn: this.groupArn(ctx, row.name),
        storedBytes: row.bytes,
        logGroupClass: "STANDARD",
      })),
    };
    if (offset + limit < rows.length) out.nextToken = offsetToken(offset + limit);
    return out;
  }

  private describeLogStreams(ctx: CallContext, input: JsonObject): JsonObject {
    const group = this.groupName(ctx, input);
    const limit = checkLimit(input.limit, 50, 50);
    const offset = readOffsetToken(input.nextToken);
    const orderBy = input.orderBy ?? "LogStreamName";
    const prefix = typeof input.logStreamNamePrefix === "string" ? input.logStreamNamePrefix : "";
    if (orderBy !== "LogStreamName" && orderBy !== "LastEventTime") {
      throw invalidParameter("1 validation error detected: Value at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LastEventTime, LogStreamName]");
    }
    if (orderBy === "LastEventTime" && prefix) throw invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
    const direction = input.descending === true ? "DESC" : "ASC";
    const order = orderBy === "LogStreamName" ? `name ${direction}` : `COALESCE(last_ts, 0) ${direction}, name ${direction}`;
    const rows = (
      this.db
        .prepare(`SELECT name, created_ms, first_ts, last_ts, last_ingestion_ms, stored_bytes FROM log_streams WHERE region = ? AND group_name = ? ORDER BY ${order}`)
        .all(ctx.region, group) as {
        name: string;
        created_ms: number;
        first_ts: number | null;
        last_ts: number | null;
        last_ingestion_ms: number | null;
        stored_bytes: number;
      }[]
    ).filter((row) => row.name.startsWith(prefix));
    const page = rows.slice(offset, offset + limit);
    const out: JsonObject = {
      logStreams: page.map((row) => {
        const stream: JsonObject = {
          logStreamName: row.name,
          creationTime: row.created_ms,
          arn: `${this.groupArn(ctx, group)}:log-stream:${row.name}`,
          storedBytes: 0,
        };
        if (row.first_ts !== null) stream.firstEventTimestamp = row.first_ts;
        if (row.last_ts !== null) stream.lastEventTimestamp = row.last_ts;
        if (row.last_ingestion_ms !== null) stream.lastIngestionTime = row.last_ingestion_ms;
        return stream;
      }),
    };
    if (offset + limit < rows.length) out.nextToken = offsetToken(offset + limit);
    return out;
  }

  private putLogEvents(ctx: CallContext, input: JsonObject): JsonObject {
    const group = this.groupName(ctx, input);
    const stream = requireString(input.logStreamName, "logStreamName");
    const exists = this.db.prepare("SELECT 1 FROM log_streams WHERE region = ? AND group_name = ? AND name = ?").get(ctx.region, group, stream);
    if (!exists) throw new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");
    const events = input.logEvents;
    if (!Array.isArray(events) || events.length < 1 || events.length > MAX_BATCH_EVENTS) {
      throw invalidParameter(`1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length between 1 and ${MAX_BATCH_EVENTS}`);
    }
    let bytes = 0;
    let previous = -Infinity;
    for (const [i, event] of (events as { timestamp?: unknown; message?: unknown }[]).entries()) {
      if (typeof event?.timestamp !== "number" || !Number.isInteger(event.timestamp) || typeof event.message !== "string" || event.message.length === 0) {
        throw invalidParameter(`1 validation error detected: Value at 'logEvents.${i + 1}' failed to satisfy constraint: timestamp and a non-empty message are required`);
      }
      const size = Buffer.byteLength(event.message) + EVENT_OVERHEAD;
      if (size - EVENT_OVERHEAD > MAX_EVENT_BYTES) throw invalidParameter(`Log event too large: ${size} bytes exceeds limit of ${MAX_EVENT_BYTES + EVENT_OVERHEAD}`);
      bytes += size;
      if (event.timestamp < previous) throw invalidParameter("Log events in a single PutLogEvents request must be in chronological order.");
      previous = event.timestamp;
    }
    if (bytes > MAX_BATCH_BYTES) throw invalidParameter(`Upload too large: ${bytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
    const typed = events as { timestamp: number; message: string }[];
    const first = typed[0]?.timestamp ?? 0;
    if (previous - first > DAY_MS) throw invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");

    // Events outside [now - 14 days, now + 2 h] are refused one by one, reported as index ranges.
    let tooOldEnd = -1;
    let tooNewStart = -1;
    typed.forEach((event, i) => {
      if (event.timestamp < ctx.now - 14 * DAY_MS) tooOldEnd = i;
      if (event.timestamp > ctx.now + 2 * 3_600_000 && tooNewStart < 0) tooNewStart = i;
    });
    const accepted = typed.filter((_, i) => i > tooOldEnd && (tooNewStart < 0 || i < tooNewStart));
    const insert = this.db.prepare("INSERT INTO log_events (region, group_name, stream, ts, ingestion_ms, message) VALUES (?, ?, ?, ?, ?, ?)");
    const update = this.db.prepare(
      `UPDATE log_streams SET first_ts = MIN(COALESCE(first_ts, @first), @first), last_ts = MAX(COALESCE(last_ts, @last), @last),
       last_ingestion_ms = @now, stored_bytes = stored_bytes + @bytes WHERE region = @region AND group_name = @group AND name = @stream`,
    );
    this.db.transaction(() => {
      for (const event of accepted) insert.run(ctx.region, group, stream, event.timestamp, ctx.now, event.message);
      if (accepted.length > 0) {
        update.run({
          first: accepted[0]?.timestamp,
          last: accepted[accepted.length - 1]?.timestamp,
          now: ctx.now,
          bytes: accepted.reduce((sum, e) => sum + Buffer.byteLength(e.message), 0),
          region: ctx.region,
          group,
          stream,
        });
      }
    })();
    // Sequence tokens are no longer required (AWS accepts any and still returns one); ignore what came in.
    const out: JsonObject = { nextSequenceToken: pad(Number(crypto.randomBytes(6).readUIntBE(0, 6)), 56) };
    if (tooOldEnd >= 0 || tooNewStart >= 0) {
      out.rejectedLogEventsInfo = {
        ...(tooOldEnd >= 0 ? { tooOldLogEventEndIndex: tooOldEnd } : {}),
        ...(tooNewStart >= 0 ? { tooNewLogEventStartIndex: tooNewStart } : {}),
      };
    }
    return out;
  }

  private getLogEvents(ctx: CallContext, input: JsonObject): JsonObject {
    const group = this.groupName(ctx, input);
    const stream = requireString(input.logStreamName, "logStreamName");
    const exists = this.db.prepare("SELECT 1 FROM log_streams WHERE region = ? AND group_name = ? AND name = ?").get(ctx.region, group, stream);
    if (!exists) throw new AwsError("ResourceNotFoundException", "The specified log stream does not exist.");
    const limit = checkLimit(input.limit, 10_000, 10_000);
    const token = typeof input.nextToken === "string" ? input.nextToken : undefined;
    const backward = token ? token.startsWith("b/") : input.startFromHead !== true;
    const where = ["region = @region", "group_name = @group", "stream = @stream"];
    const params: Record<string, unknown> = { region: ctx.region, group, stream, limit };
    if (typeof input.startTime === "number") {
      where.push("ts >= @start");
      params.start = input.startTime;
    }
    if (typeof input.endTime === "number") {
      where.push("ts < @end");
      params.end = input.endTime;
    }
    if (token) {
      const pos = parsePosition(token, backward ? "b" : "f");
      where.push(backward ? "(ts < @pts OR (ts = @pts AND seq < @pseq))" : "(ts > @pts OR (ts = @pts AND seq > @pseq))");
      params.pts = pos.ts;
      params.pseq = pos.seq;
    }
    const order = backward ? "ts DESC, seq DESC" : "ts ASC, seq ASC";
    let rows = this.db
      .prepare(`SELECT seq, stream, ts, ingestion_ms, message FROM log_events WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT @limit`)
      .all(params) as EventRow[];
    rows = capBytes(rows);
    if (backward) rows.reverse();
    const first = rows[0];
    const last = rows[rows.length - 1];
    // At the end of the stream in the paging direction AWS hands back the token it was given.
    const forward = last ? `f/${position(last.ts, last.seq)}/s` : token?.startsWith("f/") ? token : `f/${position(0, 0)}/s`;
    const back = first ? `b/${position(first.ts, first.seq)}/s` : token?.startsWith("b/") ? token : `b/${position(0, 0)}/s`;
    return {
      events: rows.map((row) => ({ timestamp: row.ts, message: row.message, ingestionTime: row.ingestion_ms })),
      nextForwardToken: forward,
      nextBackwardToken: back,
    };
  }

  private filterLogEvents(ctx: CallContext, input: JsonObject): JsonObject {
    const group = this.groupName(ctx, input);
    const limit = checkLimit(input.limit, 10_000, 10_000);
    const names = input.logStreamNames;
    const prefix = input.logStreamNamePrefix;
    if (names !== undefined && prefix !== undefined) {
      throw invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
    }
    if (names !== undefined && (!Array.isArray(names) || names.length < 1 || names.length > 100 || names.some((n) => typeof n !== "string"))) {
      throw invalidParameter("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length between 1 and 100");
    }
    let matcher;
    try {
      matcher = compileFilterPattern(typeof input.filterPattern === "string" ? input.filterPattern : undefined);
    } catch (error) {
      if (error instanceof FilterPatternError) throw invalidParameter(`Invalid filter pattern: ${error.message}`);
      throw error;
    }
    const queryHash = crypto
      .createHash("sha256")
      .update(JSON.stringify([ctx.region, group, names, prefix, input.startTime, input.endTime, input.filterPattern]))
      .digest("base64url")
      .slice(0, 16);
    const where = ["region = @region", "group_name = @group"];
    const params: Record<string, unknown> = { region: ctx.region, group };
    if (typeof input.startTime === "number") {
      where.push("ts >= @start");
      params.start = input.startTime;
    }
    if (typeof input.endTime === "number") {
      where.push("ts <= @end");
      params.end = input.endTime;
    }
    if (Array.isArray(names)) {
      where.push(`stream IN (SELECT value FROM json_each(@names))`);
      params.names = JSON.stringify(names);
    } else if (typeof prefix === "string") {
      where.push("substr(stream, 1, length(@prefix)) = @prefix");
      params.prefix = prefix;
    }
    let cursor = { ts: -1, seq: -1 };
    if (input.nextToken !== undefined) cursor = readFilterToken(input.nextToken, queryHash);
    const statement = this.db.prepare(
      `SELECT seq, stream, ts, ingestion_ms, message FROM log_events WHERE ${where.join(" AND ")}
       AND (ts > @pts OR (ts = @pts AND seq > @pseq)) ORDER BY ts ASC, seq ASC LIMIT 1000`,
    );
    const matched: EventRow[] = [];
    let scanned = 0;
    let bytes = 0;
    let exhausted = false;
    while (matched.length < limit && scanned < FILTER_SCAN_BUDGET && bytes < MAX_BATCH_BYTES) {
      const chunk = statement.all({ ...params, pts: cursor.ts, pseq: cursor.seq }) as EventRow[];
      if (chunk.length === 0) {
        exhausted = true;
        break;
      }
      for (const row of chunk) {
        scanned++;
        cursor = { ts: row.ts, seq: row.seq };
        if (matcher(row.message)) {
          matched.push(row);
          bytes += Buffer.byteLength(row.message) + EVENT_OVERHEAD;
          if (matched.length >= limit || bytes >= MAX_BATCH_BYTES) break;
        }
      }
      if (chunk.length < 1000 && cursor.seq === chunk[chunk.length - 1]?.seq) exhausted = true;
      if (exhausted) break;
    }
    const out: JsonObject = {
      events: matched.map((row) => ({
        logStreamName: row.stream,
        timestamp: row.ts,
        message: row.message,
        ingestionTime: row.ingestion_ms,
        eventId: position(row.ts, row.seq),
      })),
    };
    if (!exhausted) out.nextToken = Buffer.from(JSON.stringify({ q: queryHash, t: cursor.ts, s: cursor.seq })).toString("base64url");
    return out;
  }

  private startQuery(ctx: CallContext, input: JsonObject): JsonObject {
    const identifiers: unknown[] = Array.isArray(input.logGroupIdentifiers)
      ? input.logGroupIdentifiers
      : Array.isArray(input.logGroupNames)
        ? input.logGroupNames
        : input.logGroupName !== undefined
          ? [input.logGroupName]
          : [];
    if (identifiers.length < 1 || identifiers.length > 50) throw invalidParameter("Specify between 1 and 50 log groups.");
    const groups = identifiers.map((id) => this.groupName(ctx, { logGroupIdentifier: id }));
    const queryString = requireString(input.queryString, "queryString");
    if (typeof input.startTime !== "number" || typeof input.endTime !== "number") throw invalidParameter("startTime and endTime are required.");
    if (input.startTime > input.endTime) throw invalidParameter("End time should not be before the start time");
    try {
      parseInsightsQuery(queryString);
    } catch (error) {
      if (error instanceof InsightsQueryError) {
        throw Object.assign(new AwsError("MalformedQueryException", error.message), { queryCompileError: { message: error.message } });
      }
      throw error;
    }
    const running = [...this.queries.values()].filter((q) => q.region === ctx.region && (q.status === "Running" || q.status === "Scheduled"));
    if (running.length >= MAX_RUNNING_QUERIES) throw new AwsError("LimitExceededException", "Account maximum query concurrency limit of [30] reached.");
    const rows = this.db
      .prepare(
        `SELECT seq, group_name, stream, ts, ingestion_ms, message FROM log_events
         WHERE region = ? AND group_name IN (SELECT value FROM json_each(?)) AND ts >= ? AND ts <= ? ORDER BY ts, seq`,
      )
      .all(ctx.region, JSON.stringify(groups), input.startTime * 1000, input.endTime * 1000 + 999) as (EventRow & { group_name: string })[];
    const limited = typeof input.limit === "number" ? `${queryString} | limit ${checkLimit(input.limit, 10_000, 10_000)}` : queryString;
    const result = runInsightsQuery(
      limited,
      rows.map((row) => ({
        timestamp: row.ts,
        ingestionTime: row.ingestion_ms,
        message: row.message,
        logStream: row.stream,
        log: `${ctx.accountId}:${row.group_name}`,
        ptr: Buffer.from(`${row.group_name}/${row.seq}`).toString("base64"),
      })),
    );
    const id = crypto.randomUUID();
    this.queries.set(id, { id, region: ctx.region, status: "Running", result, polls: 0 });
    return { queryId: id };
  }

  private query(ctx: CallContext, input: JsonObject): Query {
    const id = requireString(input.queryId, "queryId");
    const query = this.queries.get(id);
    if (!query || query.region !== ctx.region) throw new AwsError("ResourceNotFoundException", "Query does not exist.");
    return query;
  }

  private getQueryResults(ctx: CallContext, input: JsonObject): JsonObject {
    const query = this.query(ctx, input);
    // The first poll sees the query still running, so clients exercise their polling loop as against AWS.
    if (query.status === "Running" && query.polls++ > 0) query.status = "Complete";
    const done = query.status === "Complete";
    return {
      queryLanguage: "CWLI",
      results: done ? query.result.rows : [],
      statistics: {
        recordsMatched: done ? query.result.recordsMatched : 0,
        recordsScanned: done ? query.result.recordsScanned : 0,
        bytesScanned: done ? query.result.bytesScanned : 0,
      },
      status: query.status,
    };
  }

  private stopQuery(ctx: CallContext, input: JsonObject): JsonObject {
    const query = this.query(ctx, input);
    if (query.status !== "Running") return { success: false };
    query.status = "Cancelled";
    return { success: true };
  }
}

function capBytes(rows: EventRow[]): EventRow[] {
  let bytes = 0;
  const out: EventRow[] = [];
  for (const row of rows) {
    bytes += Buffer.byteLength(row.message) + EVENT_OVERHEAD;
    if (bytes > MAX_BATCH_BYTES && out.length > 0) break;
    out.push(row);
  }
  return out;
}

function readFilterToken(token: unknown, queryHash: string): { ts: number; seq: number } {
  try {
    const parsed = JSON.parse(Buffer.from(String(token), "base64url").toString("utf8")) as { q?: unknown; t?: unknown; s?: unknown };
    if (parsed.q === queryHash && typeof parsed.t === "number" && typeof parsed.s === "number") return { ts: parsed.t, seq: parsed.s };
  } catch {
    // unreadable: invalid below
  }
  throw invalidParameter("The specified nextToken is invalid.");
}
