/**
 * Parses one acra-server log line as it arrives in a CloudWatch Logs event message. Pure: no I/O, never throws.
 *
 * A message may carry a prefix that is not Acra's: Enclaver re-logs every enclave line through pretty_env_logger
 * (` INFO  enclave         > <line>`; the padding follows the widest target seen, colours may be on), and
 * docker-compose output prefixes `<service>   | `. The rest is auto-detected as plaintext (logrus text), JSON or CEF
 * (research notes acra-enclaver.md §1). Anything else (a Go panic trace, a docker notice) comes back as `raw`, so a
 * caller can still show it.
 *
 * Poison records: code 587 is the intrusion signal. acra-server prints the same message again without code or session
 * (EmptyCallback), which must not count twice: `dedupePoison` pairs each such duplicate with its coded line.
 * Code 101 with "Detected poison record, exit" means acra-server stopped itself on purpose.
 */

export type AcraLogEntryFormat = "plaintext" | "json" | "cef" | "raw";
export type AcraLogEntryLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal" | "panic" | "unknown";
export type AcraLinePrefix = "enclaver" | "docker-compose";

export interface AcraLogEntry {
  /** Epoch ms from the line (`unixTime` when present, it has ms; else the RFC3339 time); else the fallback; else null. */
  timestamp: number | null;
  level: AcraLogEntryLevel;
  /**
   * Acra event code. CEF always carries one (100 when the call had none), so an uncoded line parses as 100 from CEF
   * and as `undefined` from plaintext/JSON.
   */
  code?: number;
  message: string;
  clientId?: string;
  sessionId?: string;
  /** Every key=value of the line other than time/level/msg/code, stringified (JSON numbers as their decimal text). */
  fields: Record<string, string>;
  format: AcraLogEntryFormat;
  /** Which foreign prefix was stripped, if any. */
  prefix?: AcraLinePrefix;
}

export const POISON_RECORD_CODE = 587;
export const POISON_FEATURE_CODE = 101;
export const CEF_GENERAL_CODE = 100;
const POISON_MESSAGE = "Recognized poison record";
const POISON_EXIT_MESSAGE = "Detected poison record, exit";

// ---------------------------------------------------------------------------------------------------------------
// prefixes

const ANSI = String.raw`(?:\x1b\[[0-9;]*m)*`;
/** Spaces and colour sequences, in any mix, between the prefix's parts. */
const GAP = String.raw`(?:[ ]|\x1b\[[0-9;]*m)`;
/**
 * pretty_env_logger line: optional timestamp, level padded to 5, target padded, " > ". Colours (SGR sequences) may
 * surround the level and target when the wrapper ran on a TTY. Exactly one space after ">" belongs to the prefix.
 */
const ENCLAVER_PREFIX = new RegExp(
  String.raw`^${GAP}*(?:\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?${GAP}+)?(?:TRACE|DEBUG|INFO|WARN|ERROR)${GAP}+enclave${GAP}*>${ANSI}(?: |$)`,
);
/** docker-compose: `<container name padded> | `. Only accepted when what follows is an Acra line. */
const COMPOSE_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_.-]*[ ]+\| /;

/** Removes Enclaver's re-logging prefix (any padding/colour variant) and returns the line as acra-server wrote it. */
export function stripEnclaverPrefix(message: string): { line: string; stripped: boolean } {
  const match = ENCLAVER_PREFIX.exec(message);
  if (!match) return { line: message, stripped: false };
  return { line: message.slice(match[0].length), stripped: true };
}

// ---------------------------------------------------------------------------------------------------------------
// entry point

/**
 * Parses one message. `fallbackTimestampMs` (e.g. the CloudWatch event timestamp) is used when the line has no time
 * of its own (CEF without unixTime, raw lines).
 */
export function parseAcraLogLine(message: string, fallbackTimestampMs?: number): AcraLogEntry {
  const text = typeof message === "string" ? message.replace(/\r?\n$/, "").replace(/\r$/, "") : "";
  const enclaver = stripEnclaverPrefix(text);
  const fallback = fallbackTimestampMs ?? null;
  let entry = parseBareLine(enclaver.line, fallback);
  let prefix: AcraLinePrefix | undefined = enclaver.stripped ? "enclaver" : undefined;
  if (!entry) {
    const compose = COMPOSE_PREFIX.exec(enclaver.line);
    if (compose) {
      entry = parseBareLine(enclaver.line.slice(compose[0].length), fallback);
      if (entry) prefix = "docker-compose";
    }
  }
  if (!entry) {
    entry = { timestamp: fallback, level: "unknown", message: enclaver.line, fields: {}, format: "raw" };
  }
  if (prefix) entry.prefix = prefix;
  return entry;
}

function parseBareLine(line: string, fallback: number | null): AcraLogEntry | null {
  try {
    if (line.startsWith("{")) return parseJsonLine(line, fallback);
    if (line.startsWith("CEF:")) return parseCefLine(line, fallback);
    if (line.startsWith("time=") || line.startsWith("level=")) return parsePlaintextLine(line, fallback);
  } catch {
    // A line that looks like one format but is not well-formed is shown raw rather than dropped.
    return null;
  }
  return null;
}

function finish(
  format: AcraLogEntryFormat,
  timestamp: number | null,
  level: AcraLogEntryLevel,
  message: string,
  code: number | undefined,
  fields: Record<string, string>,
): AcraLogEntry {
  const entry: AcraLogEntry = { timestamp, level, message, fields, format };
  if (code !== undefined) entry.code = code;
  if (fields.client_id !== undefined) entry.clientId = fields.client_id;
  if (fields.session_id !== undefined) entry.sessionId = fields.session_id;
  return entry;
}

function normaliseLevel(raw: string | undefined): AcraLogEntryLevel {
  switch ((raw ?? "").toLowerCase()) {
    case "trace":
      return "trace";
    case "debug":
      return "debug";
    case "info":
      return "info";
    case "warn":
    case "warning":
      return "warning";
    case "error":
      return "error";
    case "fatal":
      return "fatal";
    case "panic":
      return "panic";
    default:
      return "unknown";
  }
}

function parseCode(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d{1,6}$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

function parseRfc3339(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  if (!/^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)$/.test(raw)) return null;
  const ms = Date.parse(raw);
  return Number.isFinite(ms) ? ms : null;
}

function parseUnixTime(raw: string | undefined): number | null {
  if (raw === undefined || !/^\d{1,12}(?:\.\d+)?$/.test(raw)) return null;
  const [secs, frac = ""] = raw.split(".");
  return Number(secs) * 1000 + Number((frac + "000").slice(0, 3));
}

// ---------------------------------------------------------------------------------------------------------------
// plaintext (logrus TextFormatter)

function parsePlaintextLine(line: string, fallback: number | null): AcraLogEntry | null {
  const pairs = new Map<string, string>();
  let i = 0;
  while (i < line.length) {
    const eq = line.indexOf("=", i);
    if (eq <= i) return null;
    const key = line.slice(i, eq);
    if (/\s/.test(key)) return null;
    let value: string;
    let next: number;
    if (line[eq + 1] === '"') {
      const unquoted = goUnquoteAt(line, eq + 1);
      if (!unquoted) return null;
      value = unquoted.value;
      next = unquoted.end;
    } else {
      const space = line.indexOf(" ", eq + 1);
      next = space === -1 ? line.length : space;
      value = line.slice(eq + 1, next);
    }
    pairs.set(key, value);
    if (next < line.length && line[next] !== " ") return null;
    i = next + 1;
  }
  if (!pairs.has("level")) return null;
  const fields: Record<string, string> = {};
  for (const [key, value] of pairs) if (key !== "time" && key !== "level" && key !== "msg" && key !== "code") fields[key] = value;
  const timestamp = parseRfc3339(pairs.get("time")) ?? fallback;
  return finish("plaintext", timestamp, normaliseLevel(pairs.get("level")), pairs.get("msg") ?? "", parseCode(pairs.get("code")), fields);
}

const GO_SIMPLE_UNESCAPES: Readonly<Record<string, string>> = {
  a: "\u0007",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
};

/** Reads a Go double-quoted literal starting at `start` (the opening quote); returns the value and the index after it. */
export function goUnquoteAt(text: string, start: number): { value: string; end: number } | null {
  if (text[start] !== '"') return null;
  let out = "";
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '"') return { value: out, end: i + 1 };
    if (ch !== "\\") {
      out += ch;
      i += 1;
      continue;
    }
    const esc = text[i + 1];
    if (esc === undefined) return null;
    const simple = GO_SIMPLE_UNESCAPES[esc];
    if (simple !== undefined) {
      out += simple;
      i += 2;
      continue;
    }
    const width = esc === "x" ? 2 : esc === "u" ? 4 : esc === "U" ? 8 : 0;
    if (width > 0) {
      const hex = text.slice(i + 2, i + 2 + width);
      if (hex.length !== width || !/^[0-9a-fA-F]+$/.test(hex)) return null;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) return null;
      out += String.fromCodePoint(cp);
      i += 2 + width;
      continue;
    }
    if (/[0-7]/.test(esc)) {
      const oct = text.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(oct)) return null;
      out += String.fromCharCode(parseInt(oct, 8));
      i += 4;
      continue;
    }
    return null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// JSON (logrus JSONFormatter with Acra's field map)

function parseJsonLine(line: string, fallback: number | null): AcraLogEntry | null {
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const record = parsed as Record<string, unknown>;
  // Older Acra builds mapped the level to "severity"; accept both.
  const levelRaw = typeof record.level === "string" ? record.level : typeof record.severity === "string" ? record.severity : undefined;
  if (typeof record.msg !== "string" || levelRaw === undefined) return null;
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === "msg" || key === "level" || key === "timestamp" || key === "code") continue;
    if (key === "severity" && record.level === undefined) continue;
    fields[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  const code = typeof record.code === "number" && Number.isInteger(record.code) ? record.code : typeof record.code === "string" ? parseCode(record.code) : undefined;
  const timestamp =
    parseUnixTime(fields.unixTime) ?? parseRfc3339(typeof record.timestamp === "string" ? record.timestamp : undefined) ?? fallback;
  return finish("json", timestamp, normaliseLevel(levelRaw), record.msg, code, fields);
}

// ---------------------------------------------------------------------------------------------------------------
// CEF (Acra's CEFTextFormatter)

const CEF_SEVERITY_TO_LEVEL: readonly [number, AcraLogEntryLevel][] = [
  [10, "panic"],
  [8, "fatal"],
  [6, "error"],
  [3, "warning"],
  [1, "info"],
  [0, "debug"],
];

function cefUnescape(text: string): string {
  return text.replace(/\\([\\|=])/g, "$1");
}

function parseCefLine(line: string, fallback: number | null): AcraLogEntry | null {
  // Header: CEF:0|vendor|product|version|signatureId|name|severity|extension — split on unescaped pipes only.
  const pieces: string[] = [];
  let current = "";
  let i = 0;
  for (; i < line.length && pieces.length < 7; i += 1) {
    const ch = line[i] as string;
    if (ch === "\\" && i + 1 < line.length) {
      current += ch + line[i + 1];
      i += 1;
    } else if (ch === "|") {
      pieces.push(current);
      current = "";
    } else current += ch;
  }
  if (pieces.length < 7) return null;
  const [cefVersion, vendor, product, version, signatureId, name, severityRaw] = pieces as [string, string, string, string, string, string, string];
  if (!/^CEF:\d+$/.test(cefVersion)) return null;
  const fields: Record<string, string> = {
    vendor: cefUnescape(vendor).trim(),
    product: cefUnescape(product).trim(),
    version: cefUnescape(version).trim(),
    severity: severityRaw.trim(),
  };
  Object.assign(fields, parseCefExtension(line.slice(i)));
  const severity = Number(severityRaw.trim());
  const level = Number.isFinite(severity) && severityRaw.trim() !== "" ? (CEF_SEVERITY_TO_LEVEL.find(([min]) => severity >= min)?.[1] ?? "debug") : "unknown";
  const timestamp = parseUnixTime(fields.unixTime) ?? fallback;
  return finish("cef", timestamp, level, cefUnescape(name).trim(), parseCode(cefUnescape(signatureId)), fields);
}

/**
 * Acra never quotes CEF values (`error=dial tcp 10.0.2.5:5432: connect: connection refused session_id=3`), but it
 * escapes `=` inside values, so every unescaped `=` ends a key: the key is the run of non-space characters before it.
 */
export function parseCefExtension(extension: string): Record<string, string> {
  const keyStarts: { key: string; start: number; valueStart: number }[] = [];
  for (let i = 0; i < extension.length; i += 1) {
    const ch = extension[i];
    if (ch === "\\") {
      i += 1;
      continue;
    }
    if (ch !== "=") continue;
    let k = i;
    while (k > 0 && !/\s/.test(extension[k - 1] as string)) k -= 1;
    if (k === i) continue;
    keyStarts.push({ key: extension.slice(k, i), start: k, valueStart: i + 1 });
  }
  const out: Record<string, string> = {};
  keyStarts.forEach((entry, index) => {
    const end = keyStarts[index + 1]?.start ?? extension.length;
    let key = entry.key;
    if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = goUnquoteAt(key, 0)?.value ?? key;
    out[cefUnescape(key)] = cefUnescape(extension.slice(entry.valueStart, end).trim());
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// poison records

/** True for the coded intrusion signal only (code 587), never for its uncoded duplicate. */
export function isPoisonHit(entry: AcraLogEntry): boolean {
  return entry.code === POISON_RECORD_CODE;
}

/** The uncoded repeat EmptyCallback prints after each coded 587 line (CEF shows it with the default code 100). */
export function isPoisonDuplicate(entry: AcraLogEntry): boolean {
  if (entry.message !== POISON_MESSAGE) return false;
  return entry.code === undefined || (entry.format === "cef" && entry.code === CEF_GENERAL_CODE);
}

/** Code 101 "Detected poison record, exit": acra-server stopped itself on purpose (os.Exit(1) follows). */
export function isPoisonShutdown(entry: AcraLogEntry): boolean {
  return entry.code === POISON_FEATURE_CODE && entry.message === POISON_EXIT_MESSAGE;
}

export interface PoisonHit {
  /** The coded 587 line, or the duplicate itself when its coded line is missing (orphan). */
  entry: AcraLogEntry;
  /** The uncoded duplicate paired with it, when seen. */
  duplicate?: AcraLogEntry;
  timestamp: number | null;
  clientId?: string;
  sessionId?: string;
  /**
   * True when only the uncoded duplicate was seen (the coded line was lost or fell outside the batch). It still
   * counts: EmptyCallback runs only after a detection, and a security console must not drop an intrusion signal.
   */
  orphan: boolean;
}

export interface DedupePoisonOptions {
  /** How far apart in time a duplicate may be from its coded line and still pair with it. Default 2000 ms. */
  pairWindowMs?: number;
}

/**
 * Poison hits of one acra-server log stream (entries in stream order), each counted once. Each uncoded duplicate
 * pairs with the nearest unpaired coded line within the window, preferring one that came before it (the real order);
 * two sessions hitting poison in the same second give two coded lines and two duplicates, so two hits.
 */
export function dedupePoison(entries: readonly AcraLogEntry[], options: DedupePoisonOptions = {}): PoisonHit[] {
  const window = options.pairWindowMs ?? 2000;
  const hits: { index: number; hit: PoisonHit }[] = [];
  const unpaired: { index: number; hit: PoisonHit }[] = [];
  const duplicates: { index: number; entry: AcraLogEntry }[] = [];
  entries.forEach((entry, index) => {
    if (isPoisonHit(entry)) {
      const hit: PoisonHit = { entry, timestamp: entry.timestamp, orphan: false };
      if (entry.clientId !== undefined) hit.clientId = entry.clientId;
      if (entry.sessionId !== undefined) hit.sessionId = entry.sessionId;
      const item = { index, hit };
      hits.push(item);
      unpaired.push(item);
    } else if (isPoisonDuplicate(entry)) {
      duplicates.push({ index, entry });
    }
  });
  const closeInTime = (a: number | null, b: number | null): boolean => a === null || b === null || Math.abs(a - b) <= window;
  for (const dup of duplicates) {
    let best = -1;
    let bestScore = Number.POSITIVE_INFINITY;
    unpaired.forEach((candidate, k) => {
      if (!closeInTime(candidate.hit.timestamp, dup.entry.timestamp)) return;
      // Earlier coded lines first (nearest first), later ones only if nothing earlier is free.
      const score = candidate.index < dup.index ? dup.index - candidate.index : entries.length + (candidate.index - dup.index);
      if (score < bestScore) {
        bestScore = score;
        best = k;
      }
    });
    if (best >= 0) {
      const [paired] = unpaired.splice(best, 1);
      if (paired) paired.hit.duplicate = dup.entry;
    } else {
      hits.push({ index: dup.index, hit: { entry: dup.entry, timestamp: dup.entry.timestamp, orphan: true } });
    }
  }
  return hits.sort((a, b) => a.index - b.index).map((item) => item.hit);
}
