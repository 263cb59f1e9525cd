/**
 * A small CloudWatch Logs Insights engine for StartQuery/GetQueryResults. Supported commands, joined with `|`:
 * - `fields a, b` / `display a, b`
 * - `filter <cond>`: `f = v`, `f != v`, `<`, `>`, `<=`, `>=`, `f like /re/`, `f like "text"`, `f not like ...`,
 *   combined with `and` / `or` / `not` and parentheses
 * - `parse f "text * more *" as a, b` (glob) and `parse f /(?<name>re)/`
 * - `stats count(*) [as n], count(f), sum(f), avg(f), min(f), max(f), count_distinct(f) by bin(5m), f`
 * - `sort f [asc|desc]`, `limit n`
 * Fields of JSON messages are discovered (nested keys joined with `.`), next to @timestamp, @message, @logStream,
 * @log, @ingestionTime and @ptr. Pure; throws InsightsQueryError for an unreadable query.
 */

import { compareWith, isComparisonOperator } from "./compare";

export class InsightsQueryError extends Error {}

export interface InsightsEvent {
  timestamp: number;
  ingestionTime: number;
  message: string;
  logStream: string;
  /** `<account>:<log group name>`, as Insights shows @log. */
  log: string;
  ptr: string;
}

export interface InsightsResult {
  rows: { field: string; value: string }[][];
  recordsMatched: number;
  recordsScanned: number;
  bytesScanned: number;
}

type Value = string | number | boolean | null | undefined;
type Row = Map<string, Value>;
type Predicate = (row: Row) => boolean;

type Aggregate = { fn: string; field?: string; as: string };
type GroupKey = { kind: "field"; field: string; as: string } | { kind: "bin"; ms: number; as: string };

type Command =
  | { kind: "fields"; fields: { expr: string; as: string }[] }
  | { kind: "filter"; predicate: Predicate }
  | { kind: "parse"; field: string; regex: RegExp; names: string[] }
  | { kind: "stats"; aggregates: Aggregate[]; by: GroupKey[] }
  | { kind: "sort"; field: string; desc: boolean }
  | { kind: "limit"; n: number };

/** `2024-01-02 03:04:05.678`, the way Insights prints timestamps. */
export function insightsTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** Splits on `|` outside quotes and regex literals. */
function splitPipeline(query: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (let i = 0; i < query.length; i++) {
    const c = query[i] ?? "";
    if (quote) {
      current += c;
      if (c === "\\") current += query[++i] ?? "";
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === "`" || (c === "/" && /(like|parse\s+\S+)\s*$/i.test(current))) {
      quote = c;
      current += c;
    } else if (c === "|") {
      parts.push(current.trim());
      current = "";
    } else current += c;
  }
  if (quote) throw new InsightsQueryError("Unterminated string or regular expression in query");
  parts.push(current.trim());
  return parts.filter((p) => p.length > 0);
}

function splitList(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const c of text) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(current.trim());
      current = "";
    } else current += c;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

const FIELD = "[@A-Za-z_][@A-Za-z0-9_.\\-]*|`[^`]+`";
const unquoteField = (name: string): string => (name.startsWith("`") ? name.slice(1, -1) : name);

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000, d: 86_400_000 };

class ConditionParser {
  private tokens: string[];
  private i = 0;

  constructor(input: string) {
    const text = input.trim();
    this.tokens = [];
    const re = new RegExp(`\\s*(\\(|\\)|!=|>=|<=|=|>|<|/(?:[^/\\\\]|\\\\.)*/[a-z]*|"(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*'|-?\\d+(?:\\.\\d+)?|${FIELD})`, "y");
    let m: RegExpExecArray | null;
    let pos = 0;
    re.lastIndex = 0;
    while (pos < text.length && (m = re.exec(text)) !== null) {
      this.tokens.push(m[1] ?? "");
      pos = re.lastIndex;
    }
    if (text.slice(pos).trim()) throw new InsightsQueryError(`Unexpected input in filter: '${text.slice(pos).trim()}'`);
  }

  parse(): Predicate {
    const p = this.or();
    if (this.i !== this.tokens.length) throw new InsightsQueryError(`Unexpected token in filter: '${this.tokens[this.i]}'`);
    return p;
  }

  private peek(): string | undefined {
    return this.tokens[this.i];
  }

  private next(): string {
    const t = this.tokens[this.i++];
    if (t === undefined) throw new InsightsQueryError("Incomplete filter expression");
    return t;
  }

  private or(): Predicate {
    let left = this.and();
    while (this.peek()?.toLowerCase() === "or") {
      this.i++;
      const a = left;
      const b = this.and();
      left = (row) => a(row) || b(row);
    }
    return left;
  }

  private and(): Predicate {
    let left = this.unary();
    while (this.peek()?.toLowerCase() === "and") {
      this.i++;
      const a = left;
      const b = this.unary();
      left = (row) => a(row) && b(row);
    }
    return left;
  }

  private unary(): Predicate {
    if (this.peek()?.toLowerCase() === "not") {
      this.i++;
      const inner = this.unary();
      return (row) => !inner(row);
    }
    if (this.peek() === "(") {
      this.i++;
      const inner = this.or();
      if (this.next() !== ")") throw new InsightsQueryError("Missing ')' in filter");
      return inner;
    }
    return this.comparison();
  }

  private literal(token: string): Value | RegExp {
    if (token.startsWith("/")) {
      const end = token.lastIndexOf("/");
      return new RegExp(token.slice(1, end), token.slice(end + 1));
    }
    if (token.startsWith('"') || token.startsWith("'")) return token.slice(1, -1).replace(/\\(.)/g, "$1");
    if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
    throw new InsightsQueryError(`Expected a value, got '${token}'`);
  }

  private comparison(): Predicate {
    const field = unquoteField(this.next());
    let op = this.next();
    let negate = false;
    if (op.toLowerCase() === "not" && this.peek()?.toLowerCase() === "like") {
      negate = true;
      op = this.next();
    }
    if (op.toLowerCase() === "like" || op === "=~") {
      const pattern = this.literal(this.next());
      const test =
        pattern instanceof RegExp
          ? (v: string) => pattern.test(v)
          : (v: string) => v.includes(String(pattern));
      return (row) => {
        const v = row.get(field);
        return v !== undefined && v !== null && test(String(v)) !== negate;
      };
    }
    if (!isComparisonOperator(op)) throw new InsightsQueryError(`Unknown operator '${op}'`);
    const value = this.literal(this.next());
    if (value instanceof RegExp) throw new InsightsQueryError("A regular expression needs 'like'");
    return (row) => {
      const actual = row.get(field);
      if (actual === undefined || actual === null) return op === "!=";
      const numeric = typeof value === "number" && !Number.isNaN(Number(actual));
      return numeric ? compareWith(op, Number(actual), value as number) : compareWith(op, String(actual), String(value));
    };
  }
}

function parseCommand(text: string): Command {
  const m = /^(\w+)\s*([\s\S]*)$/.exec(text);
  const name = m?.[1]?.toLowerCase();
  const rest = (m?.[2] ?? "").trim();
  switch (name) {
    case "fields":
    case "display":
      return {
        kind: "fields",
        fields: splitList(rest).map((item) => {
          const asMatch = new RegExp(`^(${FIELD})(?:\\s+as\\s+(${FIELD}))?$`, "i").exec(item);
          if (!asMatch) throw new InsightsQueryError(`Unsupported field expression '${item}'`);
          const expr = unquoteField(asMatch[1] ?? "");
          return { expr, as: unquoteField(asMatch[2] ?? expr) };
        }),
      };
    case "filter":
      return { kind: "filter", predicate: new ConditionParser(rest).parse() };
    case "parse": {
      const glob = new RegExp(`^(${FIELD})\\s+(["'])((?:\\\\.|(?!\\2).)*)\\2\\s+as\\s+(.+)$`, "i").exec(rest);
      if (glob) {
        const names = splitList(glob[4] ?? "").map(unquoteField);
        const parts = (glob[3] ?? "").split("*");
        if (parts.length - 1 !== names.length) throw new InsightsQueryError("parse: the number of '*' must equal the number of fields after 'as'");
        // Each `*` takes as little as it can, except the last, which takes the rest of the value.
        const escaped = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
        const source = escaped.slice(0, -1).map((p, i) => p + (i === escaped.length - 2 ? "(.*)" : "(.*?)")).join("") + (escaped[escaped.length - 1] ?? "");
        return { kind: "parse", field: unquoteField(glob[1] ?? ""), regex: new RegExp(source), names };
      }
      const regex = new RegExp(`^(${FIELD})\\s+/((?:\\\\.|[^/])*)/([a-z]*)$`).exec(rest);
      if (regex) {
        const re = new RegExp(regex[2] ?? "", regex[3]);
        const names = [...(regex[2] ?? "").matchAll(/\(\?<([A-Za-z_]\w*)>/g)].map((g) => g[1] ?? "");
        if (names.length === 0) throw new InsightsQueryError("parse with a regular expression needs named groups");
        return { kind: "parse", field: unquoteField(regex[1] ?? ""), regex: re, names };
      }
      throw new InsightsQueryError(`Unsupported parse command '${rest}'`);
    }
    case "stats": {
      const byIndex = rest.search(/\sby\s/i);
      const aggText = byIndex < 0 ? rest : rest.slice(0, byIndex);
      const byText = byIndex < 0 ? "" : rest.slice(byIndex).replace(/^\s*by\s+/i, "");
      const aggregates = splitList(aggText).map((item): Aggregate => {
        const a = new RegExp(`^(count|count_distinct|sum|avg|min|max)\\(\\s*(\\*|${FIELD})?\\s*\\)(?:\\s+as\\s+(${FIELD}))?$`, "i").exec(item);
        if (!a) throw new InsightsQueryError(`Unsupported stats function '${item}'`);
        const fn = (a[1] ?? "").toLowerCase();
        const field = a[2] && a[2] !== "*" ? unquoteField(a[2]) : undefined;
        if (fn !== "count" && !field) throw new InsightsQueryError(`${fn}() needs a field`);
        return { fn, field, as: a[3] ? unquoteField(a[3]) : item.replace(/\s+/g, "") };
      });
      const by = splitList(byText).map((item): GroupKey => {
        const bin = new RegExp(`^bin\\(\\s*(\\d+)\\s*(ms|s|min|m|hr|h|d)\\s*\\)(?:\\s+as\\s+(${FIELD}))?$`, "i").exec(item);
        if (bin) return { kind: "bin", ms: Number(bin[1]) * (UNITS[(bin[2] ?? "").toLowerCase()] ?? 1), as: bin[3] ? unquoteField(bin[3]) : item.replace(/\s+/g, "") };
        const f = new RegExp(`^(${FIELD})(?:\\s+as\\s+(${FIELD}))?$`).exec(item);
        if (!f) throw new InsightsQueryError(`Unsupported stats grouping '${item}'`);
        const field = unquoteField(f[1] ?? "");
        return { kind: "field", field, as: f[2] ? unquoteField(f[2]) : field };
      });
      return { kind: "stats", aggregates, by };
    }
    case "sort": {
      const s = new RegExp(`^(${FIELD})(?:\\s+(asc|desc))?$`, "i").exec(rest);
      if (!s) throw new InsightsQueryError(`Unsupported sort '${rest}'`);
      return { kind: "sort", field: unquoteField(s[1] ?? ""), desc: (s[2] ?? "asc").toLowerCase() === "desc" };
    }
    case "limit": {
      const n = Number(rest);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InsightsQueryError("limit must be between 1 and 10000");
      return { kind: "limit", n };
    }
    default:
      throw new InsightsQueryError(`Unsupported query command '${name ?? text}'`);
  }
}

export function parseInsightsQuery(query: string): Command[] {
  const commands = splitPipeline(query).map(parseCommand);
  if (commands.length === 0) throw new InsightsQueryError("The query is empty");
  return commands;
}

function flatten(value: unknown, prefix: string, row: Row): void {
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, row);
  } else if (prefix) {
    row.set(prefix, value as Value);
  }
}

function toRow(event: InsightsEvent): Row {
  const row: Row = new Map();
  const message = event.message;
  if (message.trimStart().startsWith("{")) {
    try {
      flatten(JSON.parse(message), "", row);
    } catch {
      // not JSON after all: no discovered fields
    }
  }
  row.set("@timestamp", event.timestamp);
  row.set("@message", message);
  row.set("@logStream", event.logStream);
  row.set("@log", event.log);
  row.set("@ingestionTime", event.ingestionTime);
  row.set("@ptr", event.ptr);
  return row;
}

function render(field: string, value: Value): string {
  if ((field === "@timestamp" || field === "@ingestionTime") && typeof value === "number") return insightsTime(value);
  return value === null || value === undefined ? "" : String(value);
}

function compare(a: Value, b: Value): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (a === undefined || a === null) return b === undefined || b === null ? 0 : 1;
  if (b === undefined || b === null) return -1;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function aggregate(agg: Aggregate, rows: Row[]): Value {
  if (agg.fn === "count") return agg.field ? rows.filter((r) => r.get(agg.field ?? "") !== undefined).length : rows.length;
  const values = rows.map((r) => r.get(agg.field ?? "")).filter((v) => v !== undefined && v !== null);
  if (agg.fn === "count_distinct") return new Set(values.map(String)).size;
  const numbers = values.map(Number).filter((n) => !Number.isNaN(n));
  if (numbers.length === 0) return undefined;
  if (agg.fn === "sum") return numbers.reduce((s, n) => s + n, 0);
  if (agg.fn === "avg") return numbers.reduce((s, n) => s + n, 0) / numbers.length;
  return agg.fn === "min" ? Math.min(...numbers) : Math.max(...numbers);
}

export function runInsightsQuery(query: string, events: InsightsEvent[]): InsightsResult {
  const commands = parseInsightsQuery(query);
  let rows = events.map(toRow);
  let bytesScanned = 0;
  for (const e of events) bytesScanned += Buffer.byteLength(e.message) + 26;
  let columns: string[] | undefined;
  let aggregated = false;
  let limit = 10_000;
  let recordsMatched = 0;
  for (const command of commands) {
    switch (command.kind) {
      case "filter":
        rows = rows.filter(command.predicate);
        break;
      case "parse":
        for (const row of rows) {
          const m = command.regex.exec(String(row.get(command.field) ?? ""));
          if (!m) continue;
          command.names.forEach((name, i) => row.set(name, m.groups?.[name] ?? m[i + 1]));
        }
        break;
      case "fields":
        for (const row of rows) for (const f of command.fields) if (f.as !== f.expr) row.set(f.as, row.get(f.expr));
        columns = [...(columns && !aggregated ? columns : []), ...command.fields.map((f) => f.as)];
        break;
      case "stats": {
        recordsMatched = rows.length;
        const groups = new Map<string, { key: Value[]; rows: Row[] }>();
        for (const row of rows) {
          const key = command.by.map((g) => {
            if (g.kind === "field") return row.get(g.field);
            const ts = Number(row.get("@timestamp"));
            return Math.floor(ts / g.ms) * g.ms;
          });
          const id = JSON.stringify(key);
          const group = groups.get(id) ?? { key, rows: [] };
          group.rows.push(row);
          groups.set(id, group);
        }
        rows = [...groups.values()].map((group) => {
          const out: Row = new Map();
          command.by.forEach((g, i) => out.set(g.as, g.kind === "bin" ? insightsTime(Number(group.key[i])) : group.key[i]));
          for (const agg of command.aggregates) out.set(agg.as, aggregate(agg, group.rows));
          return out;
        });
        columns = [...command.by.map((g) => g.as), ...command.aggregates.map((a) => a.as)];
        aggregated = true;
        break;
      }
      case "sort":
        rows = [...rows].sort((a, b) => compare(a.get(command.field), b.get(command.field)) * (command.desc ? -1 : 1));
        break;
      case "limit":
        limit = command.n;
        break;
    }
  }
  if (!aggregated) recordsMatched = rows.length;
  const output = rows.slice(0, limit).map((row) => {
    const fields = columns ?? ["@timestamp", "@message", "@logStream", "@log"];
    const cells = fields.filter((f) => row.get(f) !== undefined).map((f) => ({ field: f, value: render(f, row.get(f)) }));
    if (!aggregated) cells.push({ field: "@ptr", value: String(row.get("@ptr")) });
    return cells;
  });
  return { rows: output, recordsMatched, recordsScanned: events.length, bytesScanned };
}
