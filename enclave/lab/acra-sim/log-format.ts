/**
 * Formatters that print acra-server log lines byte-for-byte the way acra-server 0.96 does for each
 * `--logging_format` (plaintext | json | cef). Pure: no clock, no I/O — the caller passes the event time.
 *
 * Layouts (research notes acra-enclaver.md §1, real samples in test/vectors/acra/acra-log-samples.txt):
 * - plaintext = logrus TextFormatter: `time="<RFC3339>" level=<level> msg="<msg>"` then the entry's fields sorted by
 *   key, values quoted Go-style (%q) only when they contain a character outside [A-Za-z0-9-._/@^+] (or are empty).
 * - json = logrus JSONFormatter with Acra's field map: keys sorted (Go map marshal), `timestamp` RFC3339, `unixTime`
 *   a STRING with 3 decimals, `product`/`version` always present, `code` only when the event has one (a number).
 * - cef = Acra's CEFTextFormatter: `CEF:0|cossacklabs|<product>|<version>|<code or 100>|<msg>|<severity>|` then
 *   `key=value ` pairs (each followed by one space, sorted, always with unixTime). Values are never quoted; `\`, `|`
 *   and `=` are backslash-escaped, `\n`/`\t` become spaces, surrounding whitespace is trimmed, empty becomes " ".
 */

export const ACRA_LOG_FORMATS = ["plaintext", "json", "cef"] as const;
export type AcraLogFormat = (typeof ACRA_LOG_FORMATS)[number];

/** logrus level names as Acra prints them (`warning`, not `warn`). */
export const ACRA_LOG_LEVELS = ["debug", "info", "warning", "error", "fatal", "panic"] as const;
export type AcraLogLevel = (typeof ACRA_LOG_LEVELS)[number];

export type AcraFieldValue = string | number | boolean;

/** One log call of acra-server: `logger.WithFields(fields).WithField("code", code).<Level>(msg)`. */
export interface AcraLogEvent {
  /** Epoch milliseconds of the log call. */
  timeMs: number;
  level: AcraLogLevel;
  msg: string;
  /** Acra event code (logging/event_codes.go). Absent for the many lines logged without one. */
  code?: number;
  /** Extra logrus fields: client_id, session_id (number), error (string from WithError), version, ... */
  fields?: Readonly<Record<string, AcraFieldValue>>;
}

export interface AcraFormatterOptions {
  /** Service name Acra puts in `product` (JSON) and the CEF product slot. */
  product?: string;
  /** utils.VERSION of the simulated build. */
  version?: string;
}

export const DEFAULT_ACRA_PRODUCT = "acra-server";
export const DEFAULT_ACRA_VERSION = "0.96.0";

/** CEF severity per logrus level (logging/cef_formatter.go severityByLevel). */
export const CEF_SEVERITY_BY_LEVEL: Readonly<Record<AcraLogLevel, number>> = {
  debug: 0,
  info: 1,
  warning: 3,
  error: 6,
  fatal: 8,
  panic: 10,
};

/** CEF puts this code in the Signature-ID slot of every line logged without a code. */
export const CEF_DEFAULT_CODE = 100;

/**
 * Enclaver's wrapper re-logs every enclave stdout/stderr line through pretty_env_logger with target "enclave"
 * and no timestamp: level padded to 5, target padded to the widest target seen (here 15), then " > ".
 */
export const ENCLAVER_LINE_PREFIX = " INFO  enclave         > ";

export function withEnclaverPrefix(line: string): string {
  return ENCLAVER_LINE_PREFIX + line;
}

export function isAcraLogFormat(value: string): value is AcraLogFormat {
  return (ACRA_LOG_FORMATS as readonly string[]).includes(value);
}

/** Formats one event as acra-server prints it, without the trailing newline. */
export function formatAcraLogLine(event: AcraLogEvent, format: AcraLogFormat, options: AcraFormatterOptions = {}): string {
  switch (format) {
    case "plaintext":
      return formatPlaintext(event);
    case "json":
      return formatJson(event, options);
    case "cef":
      return formatCef(event, options);
  }
}

/** Go's time.RFC3339 in UTC: second precision, `Z` suffix (Acra's formatters use RFC3339, not RFC3339Nano). */
export function formatRfc3339Utc(timeMs: number): string {
  return new Date(Math.floor(timeMs / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Acra's `unixTime` value: seconds with exactly 3 decimals, e.g. "1625157077.908". */
export function formatUnixTime(timeMs: number): string {
  const ms = Math.floor(timeMs);
  const seconds = Math.floor(ms / 1000);
  const millis = ms - seconds * 1000;
  return `${seconds}.${String(millis).padStart(3, "0")}`;
}

/** The event's data map as logrus holds it: fields plus `code` when set. */
function entryData(event: AcraLogEvent): Map<string, AcraFieldValue> {
  const data = new Map<string, AcraFieldValue>(Object.entries(event.fields ?? {}));
  if (event.code !== undefined) data.set("code", event.code);
  return data;
}

function sortedKeys(keys: Iterable<string>): string[] {
  // Go's sort.Strings orders by bytes; for the ASCII keys Acra uses that is plain code-unit order.
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function goSprint(value: AcraFieldValue): string {
  return typeof value === "string" ? value : String(value);
}

// ---------------------------------------------------------------------------------------------------------------
// plaintext

const LOGRUS_FIXED_TEXT_KEYS = new Set(["time", "level", "msg"]);

function formatPlaintext(event: AcraLogEvent): string {
  const data = entryData(event);
  const parts: string[] = [`time=${quoteIfNeeded(formatRfc3339Utc(event.timeMs))}`, `level=${event.level}`];
  // logrus omits msg only when it is empty.
  if (event.msg !== "") parts.push(`msg=${quoteIfNeeded(event.msg)}`);
  // logrus renames data keys that clash with its fixed keys (prefixFieldClashes).
  const renamed = new Map<string, AcraFieldValue>();
  for (const [key, value] of data) renamed.set(LOGRUS_FIXED_TEXT_KEYS.has(key) ? `fields.${key}` : key, value);
  for (const key of sortedKeys(renamed.keys())) {
    parts.push(`${key}=${quoteIfNeeded(goSprint(renamed.get(key) as AcraFieldValue))}`);
  }
  return parts.join(" ");
}

/** logrus TextFormatter.needsQuoting with QuoteEmptyFields=true. */
export function logrusNeedsQuoting(text: string): boolean {
  if (text.length === 0) return true;
  return !/^[A-Za-z0-9\-._/@^+]+$/.test(text);
}

function quoteIfNeeded(text: string): string {
  return logrusNeedsQuoting(text) ? goQuote(text) : text;
}

const GO_SHORT_ESCAPES: Readonly<Record<string, string>> = {
  "\u0007": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
  '"': '\\"',
  "\\": "\\\\",
};

/** Printable per Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** Go's strconv.Quote (what `%q` prints). Lone surrogates cannot come from Go; they print as U+FFFD would. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const short = GO_SHORT_ESCAPES[ch];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += "\uFFFD";
    } else if (GO_PRINTABLE.test(ch)) {
      out += ch;
    } else if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, "0")}`;
    } else if (cp < 0x10000) {
      out += `\\u${cp.toString(16).padStart(4, "0")}`;
    } else {
      out += `\\U${cp.toString(16).padStart(8, "0")}`;
    }
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------------------------------
// json

const LOGRUS_FIXED_JSON_KEYS = new Set(["timestamp", "level", "msg"]);

function formatJson(event: AcraLogEvent, options: AcraFormatterOptions): string {
  const record = new Map<string, AcraFieldValue>();
  // Acra's formatter adds product/version first and lets the entry's own fields override them.
  record.set("product", options.product ?? DEFAULT_ACRA_PRODUCT);
  record.set("version", options.version ?? DEFAULT_ACRA_VERSION);
  for (const [key, value] of entryData(event)) {
    record.set(LOGRUS_FIXED_JSON_KEYS.has(key) ? `fields.${key}` : key, value);
  }
  record.set("timestamp", formatRfc3339Utc(event.timeMs));
  record.set("unixTime", formatUnixTime(event.timeMs));
  record.set("level", event.level);
  record.set("msg", event.msg);
  const members = sortedKeys(record.keys()).map((key) => `${goJsonString(key)}:${goJsonValue(record.get(key) as AcraFieldValue)}`);
  return `{${members.join(",")}}`;
}

function goJsonValue(value: AcraFieldValue): string {
  if (typeof value === "string") return goJsonString(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : goJsonString(String(value));
  return value ? "true" : "false";
}

/** encoding/json string encoding with HTML escaping on (logrus does not disable it). */
export function goJsonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (cp < 0x20 || ch === "<" || ch === ">" || ch === "&" || cp === 0x2028 || cp === 0x2029) {
      out += `\\u${cp.toString(16).padStart(4, "0")}`;
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      out += "\\ufffd";
    } else out += ch;
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------------------------------
// cef

const CEF_HEADER_KEYS = new Set(["vendor", "product", "version", "code", "severity"]);

function formatCef(event: AcraLogEvent, options: AcraFormatterOptions): string {
  const data = entryData(event);
  const header = [
    "CEF:0",
    cefPrepare(goSprint(data.get("vendor") ?? "cossacklabs")),
    cefPrepare(goSprint(data.get("product") ?? options.product ?? DEFAULT_ACRA_PRODUCT)),
    cefPrepare(goSprint(data.get("version") ?? options.version ?? DEFAULT_ACRA_VERSION)),
    cefPrepare(goSprint(data.get("code") ?? CEF_DEFAULT_CODE)),
    cefPrepare(event.msg),
    String(CEF_SEVERITY_BY_LEVEL[event.level]),
  ].map((piece) => (piece === "" ? " " : piece));
  const extension = new Map<string, AcraFieldValue>();
  for (const [key, value] of data) if (!CEF_HEADER_KEYS.has(key)) extension.set(key, value);
  extension.set("unixTime", formatUnixTime(event.timeMs));
  let line = `${header.join("|")}|`;
  for (const key of sortedKeys(extension.keys())) {
    const preparedKey = cefPrepare(key);
    const value = cefPrepare(goSprint(extension.get(key) as AcraFieldValue));
    line += `${logrusNeedsQuoting(preparedKey) ? goQuote(preparedKey) : preparedKey}=${value === "" ? " " : value} `;
  }
  return line;
}

/** Acra's prepareString: trim, newline/tab to space, escape `\`, `|`, `=`. */
export function cefPrepare(text: string): string {
  return text
    .replace(/^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/gu, "")
    .replace(/\n/g, " ")
    .replace(/\t/g, " ")
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/=/g, "\\=");
}
