import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { poisonRecognizedEvents } from "@/enclave/lab/acra-sim/acra-events";
import {
  ACRA_LOG_FORMATS,
  ACRA_LOG_LEVELS,
  ENCLAVER_LINE_PREFIX,
  formatAcraLogLine,
  formatUnixTime,
  type AcraLogEvent,
  type AcraLogFormat,
} from "@/enclave/lab/acra-sim/log-format";
import { loadAcraSampleBlocks, sampleBlock } from "@/enclave/lab/acra-sim/sample-vectors";
import {
  dedupePoison,
  isPoisonDuplicate,
  isPoisonHit,
  isPoisonShutdown,
  parseAcraLogLine,
  stripEnclaverPrefix,
  type AcraLogEntry,
} from "./log-parser";

const T = Date.parse("2025-01-15T10:20:30Z");

describe("parseAcraLogLine on every real sample line", () => {
  it("parses every line of every block without throwing, and recognises every Acra line", () => {
    for (const block of loadAcraSampleBlocks()) {
      for (const line of block.lines) {
        const entry = parseAcraLogLine(line);
        if (line.endsWith("exited with code 1")) {
          expect(entry.format).toBe("raw");
          continue;
        }
        expect(entry.format, `${block.label}: ${line}`).not.toBe("raw");
        expect(entry.level).not.toBe("unknown");
        expect(entry.timestamp).not.toBeNull();
        expect(entry.message.length).toBeGreaterThan(0);
      }
    }
  });

  it("REAL 1: docker-compose prefix stripped; 587 with client/session, uncoded duplicate, 101 exit", () => {
    const [hit, dup, exit] = sampleBlock("REAL 1").map((l) => parseAcraLogLine(l));
    expect(hit).toMatchObject({
      format: "plaintext",
      prefix: "docker-compose",
      timestamp: Date.parse("2022-03-19T12:06:02Z"),
      level: "warning",
      code: 587,
      message: "Recognized poison record",
      clientId: "poison_records_demo",
      sessionId: "5",
    });
    expect(dup?.code).toBeUndefined();
    expect(isPoisonHit(hit as AcraLogEntry)).toBe(true);
    expect(isPoisonHit(dup as AcraLogEntry)).toBe(false);
    expect(isPoisonDuplicate(dup as AcraLogEntry)).toBe(true);
    expect(isPoisonShutdown(exit as AcraLogEntry)).toBe(true);
    expect(dedupePoison([hit, dup, exit] as AcraLogEntry[])).toHaveLength(1);
  });

  it("REAL 2 plaintext with +03:00 offset and the version field", () => {
    const first = parseAcraLogLine(sampleBlock("REAL 2")[0] as string);
    expect(first).toMatchObject({
      timestamp: Date.parse("2021-07-01T16:34:14Z"),
      level: "info",
      message: "Starting service acra-server [pid=304870]",
      fields: { version: "0.85.0" },
    });
  });

  it("REAL 3 JSON: numeric code, error field, ms precision from unixTime", () => {
    const last = parseAcraLogLine(sampleBlock("REAL 3").at(-1) as string);
    expect(last).toMatchObject({
      format: "json",
      code: 563,
      level: "warning",
      message: "Failed to parse input query",
      timestamp: 1625158026944,
      fields: { error: "fail to parse specified query", product: "acra-server", version: "0.85.0" },
    });
  });

  it("REAL 4/5/6 CEF: unescapes the header, default code 100, audit fields in any order", () => {
    const first = parseAcraLogLine(sampleBlock("REAL 4")[0] as string);
    expect(first).toMatchObject({ format: "cef", code: 100, level: "info", message: "Starting service acra-server [pid=304668]", timestamp: 1625157173936 });
    expect(first.fields).toMatchObject({ vendor: "cossacklabs", product: "acra-server", version: "0.85.0", severity: "1" });
    const translator = parseAcraLogLine(sampleBlock("REAL 5")[0] as string);
    expect(translator.fields.product).toBe("acra-translator");
    const audit = sampleBlock("REAL 6").map((l) => parseAcraLogLine(l));
    expect(audit[0]?.fields).toMatchObject({ chain: "new", someAdditionField: "12345", unixTime: "1583930295.386" });
    expect(audit[0]?.fields.integrity).toMatch(/^[0-9a-f]{64}$/);
    expect(audit[2]).toMatchObject({ format: "plaintext", fields: { chain: "new" } });
  });

  it("GENERATED: same events parse the same from all three formats", () => {
    const [plain, json, cef] = ["plaintext", "json", "cef"].map((f) => sampleBlock(`GENERATED format=${f}`).map((l) => parseAcraLogLine(l)));
    expect(plain).toHaveLength(json?.length as number);
    plain?.forEach((p, i) => {
      const j = json?.[i] as AcraLogEntry;
      const c = cef?.[i] as AcraLogEntry;
      for (const other of [j, c]) {
        expect(other.message).toBe(p.message);
        expect(other.level).toBe(p.level);
        expect(other.clientId).toBe(p.clientId);
        expect(other.sessionId).toBe(p.sessionId);
        expect(other.fields.error).toBe(p.fields.error);
        expect(Math.floor((other.timestamp as number) / 1000)).toBe(Math.floor((p.timestamp as number) / 1000));
      }
      expect(j.code).toBe(p.code);
      expect(c.code).toBe(p.code ?? 100);
    });
    const connectFail = cef?.find((e) => e.code === 540);
    expect(connectFail?.fields.error).toBe("dial tcp 10.0.2.5:5432: connect: connection refused");
    for (const entries of [plain, json, cef] as AcraLogEntry[][]) {
      expect(dedupePoison(entries)).toHaveLength(1);
      expect(entries.filter(isPoisonShutdown)).toHaveLength(1);
      // The start-up line also carries code 101, but is not a shutdown.
      expect(entries.filter((e) => e.code === 101)).toHaveLength(2);
    }
  });

  it("INFERRED: strips the Enclaver prefix", () => {
    const entry = parseAcraLogLine(sampleBlock("INFERRED")[0] as string);
    expect(entry).toMatchObject({ format: "json", prefix: "enclaver", code: 587, clientId: "app1", sessionId: "3" });
  });
});

describe("Enclaver prefix variants", () => {
  const payload = 'time="2025-01-15T10:20:30Z" level=info msg=x';
  it.each([
    [" INFO  enclave         > "],
    [" INFO  enclave > "],
    ["INFO  enclave         > "],
    [" WARN  enclave         > "],
    [" ERROR enclave         > "],
    [" \x1b[32mINFO \x1b[0m \x1b[1menclave        \x1b[0m > "],
    [" 2025-01-15T10:20:30Z INFO  enclave         > "],
  ])("%j", (prefix) => {
    expect(stripEnclaverPrefix(prefix + payload)).toEqual({ line: payload, stripped: true });
    expect(parseAcraLogLine(prefix + payload)).toMatchObject({ format: "plaintext", prefix: "enclaver", message: "x" });
  });

  it("keeps a second leading space that belongs to the app line, and leaves other lines alone", () => {
    expect(stripEnclaverPrefix(`${ENCLAVER_LINE_PREFIX} * Serving`).line).toBe(" * Serving");
    expect(stripEnclaverPrefix("INFO something else").stripped).toBe(false);
    expect(parseAcraLogLine(`${ENCLAVER_LINE_PREFIX}panic: boom`, 42)).toMatchObject({ format: "raw", message: "panic: boom", timestamp: 42 });
  });
});

describe("dedupePoison", () => {
  const parseAll = (events: AcraLogEvent[], format: AcraLogFormat) => events.map((e) => parseAcraLogLine(formatAcraLogLine(e, format)));

  it("two sessions in the same second count twice, each duplicate paired once", () => {
    const a = poisonRecognizedEvents(T, { clientId: "app1", sessionId: 1 }, { shutdown: false });
    const b = poisonRecognizedEvents(T + 300, { clientId: "app2", sessionId: 2 }, { shutdown: false });
    for (const format of ACRA_LOG_FORMATS) {
      const hits = dedupePoison(parseAll([...a, ...b], format));
      expect(hits.map((h) => [h.clientId, h.sessionId, h.orphan, h.duplicate !== undefined])).toEqual([
        ["app1", "1", false, true],
        ["app2", "2", false, true],
      ]);
    }
  });

  it("interleaved lines still pair one to one", () => {
    const [a1, a2] = poisonRecognizedEvents(T, { clientId: "app1", sessionId: 1 }, { shutdown: false });
    const [b1, b2] = poisonRecognizedEvents(T, { clientId: "app2", sessionId: 2 }, { shutdown: false });
    const hits = dedupePoison(parseAll([a1, b1, a2, b2] as AcraLogEvent[], "json"));
    expect(hits).toHaveLength(2);
    expect(hits.every((h) => h.duplicate && !h.orphan)).toBe(true);
  });

  it("a duplicate without its coded line still counts once (orphan); one far away in time does not pair", () => {
    const [coded, dup] = poisonRecognizedEvents(T, { clientId: "app1", sessionId: 1 }, { shutdown: false });
    const lateDup = { ...(dup as AcraLogEvent), timeMs: T + 60_000 };
    const hits = dedupePoison(parseAll([coded, dup, lateDup] as AcraLogEvent[], "plaintext"));
    expect(hits.map((h) => h.orphan)).toEqual([false, true]);
    expect(dedupePoison(parseAll([dup] as AcraLogEvent[], "cef"))).toHaveLength(1);
  });

  it("unrelated lines never count", () => {
    const other = parseAcraLogLine('time="2025-01-15T10:20:30Z" level=warning msg="Recognized poison record?" code=581');
    expect(dedupePoison([other])).toEqual([]);
  });
});

describe("properties", () => {
  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        const e = parseAcraLogLine(s);
        expect(typeof e.message).toBe("string");
        parseAcraLogLine(`CEF:0|${s}`);
        parseAcraLogLine(`{${s}`);
        parseAcraLogLine(`time=${s}`);
        parseAcraLogLine(`${ENCLAVER_LINE_PREFIX}${s}`);
      }),
      { numRuns: 500 },
    );
  });

  const key = fc.stringMatching(/^[a-z][a-z_]{0,10}$/).filter((k) => !["time", "level", "msg", "code", "timestamp", "unixTime", "product", "version", "vendor", "severity"].includes(k));
  // Text CEF keeps: trimmed, no newline/tab (Acra turns those into spaces), non-empty. Plaintext/JSON keep everything.
  const cefSafeText = fc
    .string({ unit: "grapheme", minLength: 1, maxLength: 40 })
    .map((s) => s.replace(/[\n\t]/g, " ").trim())
    .filter((s) => s.length > 0 && !/[\r\u0085\u2028\u2029]/.test(s));
  const eventArb = (text: fc.Arbitrary<string>) =>
    fc.record(
      {
        timeMs: fc.integer({ min: 0, max: 4_000_000_000_000 }),
        level: fc.constantFrom(...ACRA_LOG_LEVELS),
        msg: text,
        code: fc.integer({ min: 101, max: 1302 }),
        fields: fc.dictionary(key, fc.oneof(text, fc.integer({ min: 0, max: 1_000_000 })), { maxKeys: 4 }),
      },
      { requiredKeys: ["timeMs", "level", "msg", "fields"] },
    );

  function expectRoundTrip(event: AcraLogEvent, format: AcraLogFormat): void {
    const line = formatAcraLogLine(event, format);
    const entry = parseAcraLogLine(withPrefixSometimes(line, event.timeMs));
    expect(entry.format).toBe(format);
    expect(entry.level).toBe(event.level);
    expect(entry.message).toBe(event.msg);
    expect(entry.code).toBe(event.code ?? (format === "cef" ? 100 : undefined));
    const expectedTs = format === "plaintext" ? Math.floor(event.timeMs / 1000) * 1000 : Number(formatUnixTime(event.timeMs)) * 1000;
    expect(entry.timestamp).toBeCloseTo(expectedTs, 0);
    for (const [k, v] of Object.entries(event.fields ?? {})) expect(entry.fields[k]).toBe(String(v));
    if (event.fields?.client_id !== undefined) expect(entry.clientId).toBe(String(event.fields.client_id));
  }

  function withPrefixSometimes(line: string, seed: number): string {
    return seed % 2 === 0 ? ENCLAVER_LINE_PREFIX + line : line;
  }

  it("plaintext and JSON: any event round-trips exactly (any unicode text)", () => {
    fc.assert(
      fc.property(eventArb(fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => s.length > 0)), (event) => {
        expectRoundTrip(event, "plaintext");
        expectRoundTrip(event, "json");
      }),
      { numRuns: 300 },
    );
  });

  it("CEF: any event with CEF-representable text round-trips", () => {
    fc.assert(
      fc.property(eventArb(cefSafeText), (event) => expectRoundTrip(event, "cef")),
      { numRuns: 300 },
    );
  });
});
