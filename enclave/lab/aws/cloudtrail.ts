/**
 * Emulated CloudTrail: the event history (management events, 90 days, per region) and LookupEvents with AWS's
 * rules: one lookup attribute, 1..50 results (default 50), newest first, an opaque NextToken bound to the query,
 * `CloudTrailEvent` as a JSON string. Events are built in the JSON shape of the AWS documentation examples
 * (test/vectors/cloudtrail/).
 */
import crypto from "node:crypto";
import type { Db } from "./store";
import { AwsError } from "./errors";
import type { CallContext, JsonObject } from "./context";

const HISTORY_MS = 90 * 24 * 3600 * 1000;
const ATTRIBUTE_KEYS = ["AccessKeyId", "EventId", "EventName", "EventSource", "ReadOnly", "ResourceName", "ResourceType", "Username"] as const;
type AttributeKey = (typeof ATTRIBUTE_KEYS)[number];

/** `2024-02-20T17:41:57Z`: CloudTrail writes event times to the second. */
export const cloudTrailTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");

export interface ApiCallAudit {
  eventSource: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: JsonObject | null;
  responseElements: JsonObject | null;
  additionalEventData?: JsonObject;
  resources: { accountId: string; type: string; ARN: string }[];
  error?: { code: string; message: string };
}

export function userIdentity(ctx: CallContext): JsonObject {
  const p = ctx.principal;
  if (p.type === "IAMUser") {
    return { type: "IAMUser", principalId: p.principalId, arn: p.arn, accountId: p.accountId, accessKeyId: p.accessKeyId, userName: p.username };
  }
  return {
    type: "AssumedRole",
    principalId: p.principalId,
    arn: p.arn,
    accountId: p.accountId,
    accessKeyId: p.accessKeyId,
    sessionContext: {
      sessionIssuer: { type: "Role", principalId: p.roleId, arn: p.roleArn, accountId: p.accountId, userName: p.roleName },
      attributes: { creationDate: cloudTrailTime(ctx.now - 3600_000), mfaAuthenticated: "false" },
      ec2RoleDelivery: "2.0",
    },
  };
}

/** The CloudTrail record of one API call, in the key order AWS writes. */
export function apiCallEvent(ctx: CallContext, audit: ApiCallAudit, serviceHost: string): JsonObject {
  const event: JsonObject = {
    eventVersion: "1.08",
    userIdentity: userIdentity(ctx),
    eventTime: cloudTrailTime(ctx.now),
    eventSource: audit.eventSource,
    eventName: audit.eventName,
    awsRegion: ctx.region,
    sourceIPAddress: ctx.sourceIp,
    userAgent: ctx.userAgent,
  };
  if (audit.error) {
    event.errorCode = audit.error.code;
    event.errorMessage = audit.error.message;
  }
  event.requestParameters = audit.requestParameters;
  event.responseElements = audit.error ? null : audit.responseElements;
  if (audit.additionalEventData) event.additionalEventData = audit.additionalEventData;
  Object.assign(event, {
    requestID: ctx.requestId,
    eventID: crypto.randomUUID(),
    readOnly: audit.readOnly,
    resources: audit.resources,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ctx.accountId,
    eventCategory: "Management",
    tlsDetails: {
      tlsVersion: "TLSv1.3",
      cipherSuite: "TLS_AES_128_GCM_SHA256",
      clientProvidedHostHeader: `${serviceHost}.${ctx.region}.amazonaws.com`,
    },
  });
  return event;
}

interface EventRow {
  seq: number;
  event_time_ms: number;
  doc: string;
}

interface LookupInput {
  LookupAttributes?: { AttributeKey?: string; AttributeValue?: string }[];
  StartTime?: number;
  EndTime?: number;
  EventCategory?: string;
  MaxResults?: number;
  NextToken?: string;
}

function lookupUsername(identity: JsonObject | undefined): string | undefined {
  if (!identity) return undefined;
  if (typeof identity.userName === "string") return identity.userName;
  if (identity.type === "AssumedRole" && typeof identity.arn === "string") return identity.arn.split("/").pop();
  if (identity.type === "Root") return "root";
  return undefined;
}

export class CloudTrail {
  private readonly insert;

  constructor(
    private readonly db: Db,
    private readonly regions: readonly string[],
  ) {
    this.insert = db.prepare(
      `INSERT INTO ct_events (region, event_time_ms, event_id, event_name, event_source, read_only, access_key_id, username, resources, doc)
       VALUES (@region, @time, @eventId, @eventName, @eventSource, @readOnly, @accessKeyId, @username, @resources, @doc)`,
    );
  }

  /**
   * Stores one event. Missing eventID/eventTime are filled in; `awsRegion` decides the region. This is also the
   * lab's back door for events no API call produced (an injected rogue Decrypt, a service event).
   */
  append(event: JsonObject, nowMs: number): { eventId: string; eventTime: string } {
    const region = event.awsRegion;
    if (typeof region !== "string" || !this.regions.includes(region)) {
      throw new Error(`CloudTrail event needs awsRegion set to one of ${this.regions.join(", ")}`);
    }
    const eventTime = typeof event.eventTime === "string" ? event.eventTime : cloudTrailTime(nowMs);
    const timeMs = Date.parse(eventTime);
    if (Number.isNaN(timeMs)) throw new Error(`CloudTrail event has an unreadable eventTime: ${eventTime}`);
    const eventId = typeof event.eventID === "string" ? event.eventID : crypto.randomUUID();
    const doc: JsonObject = { ...event, eventTime, eventID: eventId };
    const identity = doc.userIdentity as JsonObject | undefined;
    const resources = Array.isArray(doc.resources)
      ? (doc.resources as JsonObject[]).map((r) => ({ ResourceType: r.type, ResourceName: r.ARN }))
      : [];
    this.insert.run({
      region,
      time: Math.floor(timeMs / 1000) * 1000,
      eventId,
      eventName: typeof doc.eventName === "string" ? doc.eventName : null,
      eventSource: typeof doc.eventSource === "string" ? doc.eventSource : null,
      readOnly: typeof doc.readOnly === "boolean" ? String(doc.readOnly) : null,
      accessKeyId: typeof identity?.accessKeyId === "string" ? identity.accessKeyId : null,
      username: lookupUsername(identity) ?? null,
      resources: JSON.stringify(resources),
      doc: JSON.stringify(doc),
    });
    return { eventId, eventTime };
  }

  count(region?: string): number {
    const row = region
      ? (this.db.prepare("SELECT COUNT(*) AS n FROM ct_events WHERE region = ?").get(region) as { n: number })
      : (this.db.prepare("SELECT COUNT(*) AS n FROM ct_events").get() as { n: number });
    return row.n;
  }

  lookupEvents(ctx: CallContext, input: LookupInput): JsonObject {
    const attributes = input.LookupAttributes ?? [];
    if (attributes.length > 1) {
      throw new AwsError("InvalidLookupAttributesException", "You can only specify one lookup attribute.");
    }
    const attribute = attributes[0];
    if (attribute && (!ATTRIBUTE_KEYS.includes(attribute.AttributeKey as AttributeKey) || typeof attribute.AttributeValue !== "string")) {
      throw new AwsError("InvalidLookupAttributesException", `Invalid lookup attribute key: ${String(attribute.AttributeKey)}`);
    }
    const maxResults = input.MaxResults ?? 50;
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 50) {
      throw new AwsError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.");
    }
    if (input.EventCategory !== undefined && input.EventCategory !== "insight") {
      throw new AwsError("InvalidEventCategoryException", `Invalid EventCategory: ${input.EventCategory}`);
    }
    if (input.StartTime !== undefined && input.EndTime !== undefined && input.StartTime > input.EndTime) {
      throw new AwsError("InvalidTimeRangeException", "Start time must be earlier than end time.");
    }
    const queryHash = crypto
      .createHash("sha256")
      .update(JSON.stringify([ctx.region, attribute?.AttributeKey, attribute?.AttributeValue, input.StartTime, input.EndTime, input.EventCategory]))
      .digest("base64url")
      .slice(0, 16);
    let cursor: { t: number; s: number } | undefined;
    if (input.NextToken !== undefined) cursor = decodeToken(input.NextToken, queryHash);
    // Insights events are not emulated: an insight lookup is valid and finds nothing.
    if (input.EventCategory === "insight") return { Events: [] };

    const where = ["region = @region", "event_time_ms >= @from", "event_time_ms <= @to"];
    // Events are stored at whole seconds (as CloudTrail shows them), so the bounds are compared to the second.
    const params: Record<string, unknown> = {
      region: ctx.region,
      from: Math.max(ctx.now - HISTORY_MS, input.StartTime !== undefined ? Math.floor(input.StartTime) * 1000 : 0),
      to: input.EndTime !== undefined ? Math.floor(input.EndTime) * 1000 : Number.MAX_SAFE_INTEGER,
      limit: maxResults + 1,
    };
    if (attribute) {
      params.value = attribute.AttributeValue;
      const column: Partial<Record<AttributeKey, string>> = {
        AccessKeyId: "access_key_id",
        EventId: "event_id",
        EventName: "event_name",
        EventSource: "event_source",
        ReadOnly: "read_only",
        Username: "username",
      };
      const name = column[attribute.AttributeKey as AttributeKey];
      if (name) where.push(`${name} = @value`);
      else {
        const field = attribute.AttributeKey === "ResourceName" ? "$.ResourceName" : "$.ResourceType";
        where.push(`EXISTS (SELECT 1 FROM json_each(resources) WHERE json_extract(value, '${field}') = @value)`);
      }
    }
    if (cursor) {
      where.push("(event_time_ms < @ct OR (event_time_ms = @ct AND seq < @cs))");
      params.ct = cursor.t;
      params.cs = cursor.s;
    }
    const rows = this.db
      .prepare(`SELECT seq, event_time_ms, doc FROM ct_events WHERE ${where.join(" AND ")} ORDER BY event_time_ms DESC, seq DESC LIMIT @limit`)
      .all(params) as EventRow[];
    const page = rows.slice(0, maxResults);
    const last = page[page.length - 1];
    const output: JsonObject = { Events: page.map(toLookupEvent) };
    if (rows.length > maxResults && last) output.NextToken = encodeToken(queryHash, last.event_time_ms, last.seq);
    return output;
  }
}

function toLookupEvent(row: EventRow): JsonObject {
  const event = JSON.parse(row.doc) as JsonObject;
  const identity = event.userIdentity as JsonObject | undefined;
  const out: JsonObject = {
    EventId: event.eventID,
    EventName: event.eventName,
    ReadOnly: typeof event.readOnly === "boolean" ? String(event.readOnly) : undefined,
    AccessKeyId: identity?.accessKeyId,
    EventTime: row.event_time_ms / 1000,
    EventSource: event.eventSource,
    Username: lookupUsername(identity),
    Resources: Array.isArray(event.resources)
      ? (event.resources as JsonObject[]).map((r) => ({ ResourceType: r.type, ResourceName: r.ARN }))
      : [],
    CloudTrailEvent: row.doc,
  };
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

function encodeToken(queryHash: string, t: number, s: number): string {
  return Buffer.from(JSON.stringify({ q: queryHash, t, s })).toString("base64url");
}

function decodeToken(token: string, queryHash: string): { t: number; s: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { q?: unknown; t?: unknown; s?: unknown };
    if (parsed.q === queryHash && typeof parsed.t === "number" && typeof parsed.s === "number") return { t: parsed.t, s: parsed.s };
  } catch {
    // fall through: any unreadable token is invalid
  }
  throw new AwsError("InvalidNextTokenException", "Invalid NextToken.");
}
