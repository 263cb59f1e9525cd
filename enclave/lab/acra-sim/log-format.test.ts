import { describe, expect, it } from "vitest";
import {
  censorBlockEvents,
  dbConnectionLostEvents,
  decryptionFailureEvents,
  poisonRecognizedEvents,
  shutdownEvents,
  startupEvents,
} from "./acra-events";
import { cefPrepare, formatAcraLogLine, goQuote, type AcraLogEvent, type AcraLogFormat } from "./log-format";
import { sampleBlock } from "./sample-vectors";

// The GENERATED block of the vectors was printed by Acra's own formatter code for these calls at this instant.
const T = Date.parse("2025-01-15T10:20:30Z");
const session = { clientId: "app1", sessionId: 3 };

function byMsg(events: AcraLogEvent[], msg: string): AcraLogEvent {
  const found = events.find((e) => e.msg === msg);
  if (!found) throw new Error(`no event ${msg}`);
  return found;
}

function generatedSampleEvents(): AcraLogEvent[] {
  const startup = startupEvents(T, { pid: 7, version: "0.96.0", connectionString: "tcp://0.0.0.0:9393/", poisonShutdown: true });
  const poison = poisonRecognizedEvents(T, session, { shutdown: true });
  return [
    byMsg(startup, "Starting service acra-server [pid=7]"),
    byMsg(startup, "Turned on poison record detection"),
    byMsg(startup, "Turned on poison record callback that stops acra-server after poison record detection"),
    poison[0] as AcraLogEvent,
    poison[1] as AcraLogEvent,
    { timeMs: T, level: "warning", msg: "detected poison record, run script - /opt/acra/on-poison.sh" },
    poison[2] as AcraLogEvent,
    {
      timeMs: T,
      level: "error",
      msg: "Unexpected error in poison record callbacks",
      code: 589,
      fields: { client_id: "app1", session_id: 3, error: "exit status 1" },
    },
    ...decryptionFailureEvents(T, session),
    ...censorBlockEvents(T, session),
    ...dbConnectionLostEvents(T, session, "10.0.2.5:5432"),
    { timeMs: T, level: "error", msg: "Can't wrap connection", code: 538, fields: { error: "remote error: tls: bad certificate" } },
    {
      timeMs: T,
      level: "warning",
      msg: "Failed to decrypt ACRA_MASTER_KEY with KMS keyID acra_master_key",
      fields: { error: "operation error KMS: Decrypt, AccessDeniedException" },
    },
    ...shutdownEvents(T, 7),
  ];
}

describe("formatAcraLogLine reproduces acra-server 0.96 output byte for byte", () => {
  for (const format of ["plaintext", "json", "cef"] as AcraLogFormat[]) {
    it(`GENERATED format=${format}`, () => {
      const expected = sampleBlock(`GENERATED format=${format}`);
      const actual = generatedSampleEvents().map((e) => formatAcraLogLine(e, format));
      expect(actual).toEqual(expected);
    });
  }

  it("REAL 4 (CEF, 0.85.0): same header and extension for the same events", () => {
    const lines = sampleBlock("REAL 4");
    for (const line of lines) {
      const [, msg, unix] = /^CEF:0\|cossacklabs\|acra-server\|0\.85\.0\|100\|(.*)\|1\|unixTime=(\d+\.\d{3}) ?$/.exec(line) ?? [];
      expect(msg, line).toBeDefined();
      const timeMs = Math.round(Number(unix) * 1000);
      const event: AcraLogEvent = { timeMs, level: "info", msg: (msg as string).replace(/\\=/g, "=") };
      // The last sample line lost its trailing space when it was copied into the docs; Acra always writes one.
      expect(formatAcraLogLine(event, "cef", { version: "0.85.0" }).trimEnd()).toBe(line.trimEnd());
    }
  });

  it("REAL 3 (JSON, 0.85.0, +03:00 clock): same keys, same value types; our time is the same instant in UTC", () => {
    for (const line of sampleBlock("REAL 3")) {
      const real = JSON.parse(line) as Record<string, unknown>;
      const event: AcraLogEvent = {
        timeMs: Math.round(Number(real.unixTime) * 1000),
        level: real.level as AcraLogEvent["level"],
        msg: real.msg as string,
        ...(typeof real.code === "number" ? { code: real.code } : {}),
        ...(typeof real.error === "string" ? { fields: { error: real.error } } : {}),
      };
      const ours = JSON.parse(formatAcraLogLine(event, "json", { version: "0.85.0" })) as Record<string, unknown>;
      expect(Object.keys(ours)).toEqual(Object.keys(real));
      for (const key of Object.keys(real)) expect(typeof ours[key]).toBe(typeof real[key]);
      expect(Date.parse(ours.timestamp as string)).toBe(Math.floor(Date.parse(real.timestamp as string) / 1000) * 1000);
      expect({ ...ours, timestamp: real.timestamp }).toEqual(real);
    }
  });

  it("REAL 1/REAL 2 (plaintext): same key=value layout", () => {
    const real1 = sampleBlock("REAL 1")
      .filter((l) => l.includes(" | "))
      .map((l) => l.slice(l.indexOf(" | ") + 3));
    const poison = poisonRecognizedEvents(Date.parse("2022-03-19T12:06:02Z"), { clientId: "poison_records_demo", sessionId: 5 }, { shutdown: true });
    expect(poison.map((e) => formatAcraLogLine(e, "plaintext"))).toEqual(real1);

    const keysOf = (line: string) => [...line.matchAll(/(?:^| )([a-z_]+)=/g)].map((m) => m[1]);
    const real2 = sampleBlock("REAL 2");
    const ours = startupEvents(Date.parse("2021-07-01T16:34:14Z"), { pid: 304870, version: "0.85.0", connectionString: "tcp://0.0.0.0:9393/" });
    expect(formatAcraLogLine(ours[0] as AcraLogEvent, "plaintext")).toBe(
      (real2[0] as string).replace("2021-07-01T19:34:14+03:00", "2021-07-01T16:34:14Z"),
    );
    for (let i = 0; i < real2.length; i += 1) expect(keysOf(formatAcraLogLine(ours[i] as AcraLogEvent, "plaintext"))).toEqual(keysOf(real2[i] as string));
  });
});

describe("escaping rules", () => {
  it("plaintext quotes with Go %q only when a value has characters outside [A-Za-z0-9-._/@^+]", () => {
    const line = formatAcraLogLine(
      { timeMs: T, level: "error", msg: 'say "hi"\n', fields: { a: "", b: "plain-value_1.2/x@y^z+", c: "tab\there", d: "é\u00a0" } },
      "plaintext",
    );
    expect(line).toBe('time="2025-01-15T10:20:30Z" level=error msg="say \\"hi\\"\\n" a="" b=plain-value_1.2/x@y^z+ c="tab\\there" d="é\\u00a0"');
    expect(goQuote("\u0001\u007f\u{1f600}")).toBe('"\\x01\\x7f\u{1f600}"');
  });

  it("JSON escapes like encoding/json with HTML escaping", () => {
    const line = formatAcraLogLine({ timeMs: T + 5, level: "info", msg: "<a&b>\u2028", fields: { n: 1, ok: true } }, "json");
    expect(line).toBe(
      '{"level":"info","msg":"\\u003ca\\u0026b\\u003e\\u2028","n":1,"ok":true,"product":"acra-server","timestamp":"2025-01-15T10:20:30Z","unixTime":"1736936430.005","version":"0.96.0"}',
    );
  });

  it("CEF escapes \\ | = in header and values, turns newlines and tabs into spaces, trims, writes empty as a space", () => {
    expect(cefPrepare("  a|b=c\\d\ne\tf  ")).toBe("a\\|b\\=c\\\\d e f");
    const line = formatAcraLogLine({ timeMs: T, level: "panic", msg: "x|y", fields: { empty: "", z: "p=q" } }, "cef");
    expect(line).toBe("CEF:0|cossacklabs|acra-server|0.96.0|100|x\\|y|10|empty=  unixTime=1736936430.000 z=p\\=q ");
  });
});
