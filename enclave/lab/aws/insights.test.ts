import { describe, expect, it } from "vitest";
import { InsightsQueryError, runInsightsQuery, type InsightsEvent } from "./insights";

const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);

function event(offsetMs: number, message: string, stream = "host-1"): InsightsEvent {
  return { timestamp: T0 + offsetMs, ingestionTime: T0 + offsetMs + 5, message, logStream: stream, log: "111122223333:/acra/server", ptr: `p${offsetMs}` };
}

const poison = (client: string) => JSON.stringify({ client_id: client, code: 587, level: "warning", msg: "Recognized poison record", session_id: 1 });
const EVENTS = [
  event(0, poison("app1")),
  event(60_000, poison("app2")),
  event(4 * 60_000, poison("app1")),
  event(5 * 60_000 + 1, poison("app1"), "host-2"),
  event(6 * 60_000, JSON.stringify({ code: 563, level: "warning", msg: "Failed to parse input query" })),
  event(11 * 60_000, 'time="2026-03-01T10:11:00Z" level=warning msg="Recognized poison record" client_id=app3 code=587'),
];

const table = (rows: { field: string; value: string }[][]) => rows.map((row) => Object.fromEntries(row.map((c) => [c.field, c.value])));

describe("Logs Insights subset", () => {
  it("counts by bin(5m)", () => {
    const result = runInsightsQuery("filter code = 587 | stats count(*) as hits by bin(5m)", EVENTS);
    expect(table(result.rows)).toEqual([
      { "bin(5m)": "2026-03-01 10:00:00.000", hits: "3" },
      { "bin(5m)": "2026-03-01 10:05:00.000", hits: "1" },
    ]);
    expect(result.recordsMatched).toBe(4);
    expect(result.recordsScanned).toBe(6);
  });

  it("counts by a discovered field and sorts", () => {
    const result = runInsightsQuery("filter @message like /Recognized poison/ | stats count(*) as n by client_id | sort n desc", EVENTS);
    expect(table(result.rows)).toEqual([
      { client_id: "app1", n: "3" },
      { client_id: "app2", n: "1" },
      // Insights leaves out cells without a value (the plaintext line has no discovered client_id).
      { n: "1" },
    ]);
  });

  it("selects fields, filters with and/or/not like, limits, and adds @ptr", () => {
    const result = runInsightsQuery('fields @timestamp, client_id, @logStream | filter client_id = "app1" and not @logStream like "host-2" | sort @timestamp desc | limit 1', EVENTS);
    expect(table(result.rows)).toEqual([{ "@timestamp": "2026-03-01 10:04:00.000", client_id: "app1", "@logStream": "host-1", "@ptr": "p240000" }]);
  });

  it("parses fields out of plaintext lines", () => {
    const result = runInsightsQuery('parse @message "client_id=* code=*" as who, c | filter c = 587 | fields who', EVENTS);
    expect(table(result.rows)).toEqual([{ who: "app3", "@ptr": "p660000" }]);
  });

  it("refuses queries it cannot run", () => {
    expect(() => runInsightsQuery("stats percentile(x, 90)", EVENTS)).toThrow(InsightsQueryError);
    expect(() => runInsightsQuery("dedup x", EVENTS)).toThrow(InsightsQueryError);
    expect(() => runInsightsQuery("filter @message like /unterminated", EVENTS)).toThrow(InsightsQueryError);
  });
});
