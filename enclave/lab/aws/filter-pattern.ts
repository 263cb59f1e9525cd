/**
 * CloudWatch Logs filter patterns (FilterLogEvents `filterPattern`), the subset the console and lab use:
 * - term patterns: `ERROR`, `"Recognized poison record"`, several terms (all must appear), `?A ?B` (any of),
 *   `-term` / `-"phrase"` (must not appear). Terms are case-sensitive, as in CloudWatch.
 * - JSON patterns: `{ $.level = "warning" }`, `{ $.code = 587 }`, `{ $.code >= 500 }`, `{ $.x != "y" }`,
 *   `{ $.msg = "Recog*" }` (wildcard), `{ $.a.b[0] = 1 }`, `{ $.x IS NULL }`, `{ $.x NOT EXISTS }`,
 *   `{ $.x IS TRUE }`, combined with `&&`, `||` and parentheses. A JSON pattern matches only JSON messages.
 * Pure; throws FilterPatternError for what it cannot read (the service turns it into InvalidParameterException).
 * Reference: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
import { COMPARISON_OPERATORS, compareWith } from "./compare";

export class FilterPatternError extends Error {}

export type LogMatcher = (message: string) => boolean;

export function compileFilterPattern(pattern: string | undefined): LogMatcher {
  const text = (pattern ?? "").trim();
  if (text === "" || text === '""') return () => true;
  if (text.startsWith("{")) {
    if (!text.endsWith("}")) throw new FilterPatternError("Invalid character(s) in term");
    const expression = new JsonPatternParser(text.slice(1, -1)).parse();
    return (message) => {
      let doc: unknown;
      try {
        doc = JSON.parse(message);
      } catch {
        return false;
      }
      return doc !== null && typeof doc === "object" && expression(doc);
    };
  }
  if (text.startsWith("[")) throw new FilterPatternError("Space-delimited filter patterns are not supported by the lab emulator");
  return compileTerms(text);
}

function compileTerms(text: string): LogMatcher {
  const required: string[] = [];
  const anyOf: string[] = [];
  const excluded: string[] = [];
  const re = /([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const term = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : (m[3] ?? "");
    if (m[2] === undefined && /["{}[\]]/.test(term)) throw new FilterPatternError(`Invalid character(s) in term '${term}'`);
    if (m[1] === "?") anyOf.push(term);
    else if (m[1] === "-") excluded.push(term);
    else required.push(term);
  }
  return (message) =>
    required.every((t) => message.includes(t)) &&
    !excluded.some((t) => message.includes(t)) &&
    (anyOf.length === 0 || anyOf.some((t) => message.includes(t)));
}

type JsonPredicate = (doc: object) => boolean;

/** Reads `$.a.b[0]` from a parsed document; undefined when any step is missing. */
function selectPath(doc: unknown, path: (string | number)[]): unknown {
  let current: unknown = doc;
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\?]/g, "\\$&").replace(/\*/g, ".*")}$`);
}

class JsonPatternParser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parse(): JsonPredicate {
    const expr = this.orExpr();
    this.skip();
    if (this.pos !== this.src.length) throw new FilterPatternError(`Unexpected input in JSON filter pattern at '${this.src.slice(this.pos)}'`);
    return expr;
  }

  private skip(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos] ?? "")) this.pos++;
  }

  private eat(token: string): boolean {
    this.skip();
    if (this.src.startsWith(token, this.pos)) {
      this.pos += token.length;
      return true;
    }
    return false;
  }

  private orExpr(): JsonPredicate {
    let left = this.andExpr();
    while (this.eat("||")) {
      const a = left;
      const b = this.andExpr();
      left = (doc) => a(doc) || b(doc);
    }
    return left;
  }

  private andExpr(): JsonPredicate {
    let left = this.primary();
    while (this.eat("&&")) {
      const a = left;
      const b = this.primary();
      left = (doc) => a(doc) && b(doc);
    }
    return left;
  }

  private primary(): JsonPredicate {
    if (this.eat("(")) {
      const inner = this.orExpr();
      if (!this.eat(")")) throw new FilterPatternError("Missing ')' in JSON filter pattern");
      return inner;
    }
    return this.comparison();
  }

  private selector(): (string | number)[] {
    this.skip();
    const m = /^\$((?:\.[A-Za-z0-9_@-]+|\[\d+\])+)/.exec(this.src.slice(this.pos));
    if (!m) throw new FilterPatternError(`Expected a selector like $.field at '${this.src.slice(this.pos)}'`);
    this.pos += m[0].length;
    const path: (string | number)[] = [];
    for (const part of (m[1] ?? "").matchAll(/\.([A-Za-z0-9_@-]+)|\[(\d+)\]/g)) {
      path.push(part[1] !== undefined ? part[1] : Number(part[2]));
    }
    return path;
  }

  private comparison(): JsonPredicate {
    const path = this.selector();
    this.skip();
    const rest = this.src.slice(this.pos);
    const keyword = /^(IS\s+NULL|NOT\s+EXISTS|IS\s+TRUE|IS\s+FALSE)\b/i.exec(rest);
    if (keyword) {
      this.pos += keyword[0].length;
      const kind = keyword[1]?.toUpperCase().replace(/\s+/g, " ");
      if (kind === "IS NULL") return (doc) => selectPath(doc, path) === null;
      if (kind === "NOT EXISTS") return (doc) => selectPath(doc, path) === undefined;
      const want = kind === "IS TRUE";
      return (doc) => selectPath(doc, path) === want;
    }
    const op = COMPARISON_OPERATORS.find((candidate) => rest.startsWith(candidate));
    if (!op) throw new FilterPatternError(`Expected a comparison operator at '${rest}'`);
    this.pos += op.length;
    this.skip();
    const valueSrc = this.src.slice(this.pos);
    const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(valueSrc);
    const bare = /^[^\s()&|]+/.exec(valueSrc);
    const raw = quoted ? quoted[1]!.replace(/\\(.)/g, "$1") : bare?.[0];
    if (raw === undefined) throw new FilterPatternError("Expected a value in JSON filter pattern");
    this.pos += (quoted ?? bare)![0].length;
    const numeric = !quoted && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw) ? Number(raw) : undefined;
    if (numeric !== undefined) {
      return (doc) => {
        const value = selectPath(doc, path);
        return typeof value === "number" && compareWith(op, value, numeric);
      };
    }
    if (op !== "=" && op !== "!=") throw new FilterPatternError(`Operator ${op} needs a numeric value`);
    const matcher = wildcard(raw);
    return (doc) => {
      const value = selectPath(doc, path);
      if (typeof value !== "string") return op === "!=" && value !== undefined;
      return matcher.test(value) === (op === "=");
    };
  }
}
