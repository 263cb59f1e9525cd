import { describe, expect, it } from "vitest";
import { compileFilterPattern, FilterPatternError } from "./filter-pattern";

const PLAIN = 'time="2022-03-19T12:06:02Z" level=warning msg="Recognized poison record" client_id=poison_records_demo code=587 session_id=5';
const JSON_HIT =
  '{"client_id":"app1","code":587,"level":"warning","msg":"Recognized poison record","product":"acra-server","session_id":5,"timestamp":"2021-07-01T19:47:06+03:00","unixTime":"1625158026.944","version":"0.96.0"}';
const JSON_OTHER = '{"code":563,"error":"fail to parse specified query","level":"warning","msg":"Failed to parse input query","product":"acra-server"}';
const PREFIXED = ` INFO  enclave         > ${JSON_HIT}`;

const matches = (pattern: string, ...messages: string[]) => messages.map(compileFilterPattern(pattern));

describe("term patterns", () => {
  it("matches everything when empty", () => {
    expect(matches("", PLAIN, "x")).toEqual([true, true]);
  });

  it("requires every plain term and quoted phrase, case-sensitively", () => {
    expect(matches('"Recognized poison record" code=587', PLAIN, JSON_HIT)).toEqual([true, false]);
    expect(matches("recognized", PLAIN)).toEqual([false]);
    expect(matches('"\\"code\\":587"', JSON_HIT, PREFIXED, PLAIN)).toEqual([true, true, false]);
  });

  it("matches any ?term and excludes -term", () => {
    expect(matches("?code=587 ?563", PLAIN, JSON_OTHER, "nothing")).toEqual([true, true, false]);
    expect(matches('poison -"client_id=poison_records_demo"', PLAIN, JSON_HIT)).toEqual([false, true]);
  });
});

describe("JSON patterns", () => {
  it("compares strings and numbers on JSON messages only", () => {
    expect(matches('{ $.level = "warning" }', JSON_HIT, JSON_OTHER, PLAIN, PREFIXED)).toEqual([true, true, false, false]);
    expect(matches("{ $.code = 587 }", JSON_HIT, JSON_OTHER)).toEqual([true, false]);
    expect(matches("{ $.code >= 560 }", JSON_HIT, JSON_OTHER)).toEqual([true, true]);
    expect(matches('{ $.code != 587 }', JSON_HIT, JSON_OTHER)).toEqual([false, true]);
    expect(matches('{ $.msg = "Recognized*" }', JSON_HIT, JSON_OTHER)).toEqual([true, false]);
  });

  it("combines with && and || and parentheses", () => {
    expect(matches('{ ($.code = 587) && ($.client_id = "app1") }', JSON_HIT, JSON_OTHER)).toEqual([true, false]);
    expect(matches('{ ($.code = 587) && ($.client_id = "app2") }', JSON_HIT)).toEqual([false]);
    expect(matches('{ $.code = 1 || ($.product = "acra-server" && $.error = "fail*") }', JSON_HIT, JSON_OTHER)).toEqual([false, true]);
  });

  it("reads nested paths, arrays and existence tests", () => {
    const doc = '{"a":{"b":[{"c":3}]},"n":null,"t":true}';
    expect(matches("{ $.a.b[0].c = 3 }", doc)).toEqual([true]);
    expect(matches("{ $.n IS NULL }", doc, JSON_HIT)).toEqual([true, false]);
    expect(matches("{ $.missing NOT EXISTS }", doc)).toEqual([true]);
    expect(matches("{ $.t IS TRUE }", doc)).toEqual([true]);
  });

  it("rejects what it cannot read", () => {
    expect(() => compileFilterPattern("{ $.code = 587")).toThrow(FilterPatternError);
    expect(() => compileFilterPattern("{ code = 587 }")).toThrow(FilterPatternError);
    expect(() => compileFilterPattern("{ $.code > abc }")).toThrow(FilterPatternError);
  });
});
