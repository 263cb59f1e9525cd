import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { supervisorConfigSchema } from "../supervisor/config";

/**
 * Consistency of the image files with each other and with the supervisor's defaults. No YAML library is installed,
 * so the manifest is read with a minimal line reader that only understands the subset these files use (nested
 * maps by two-space indentation, "- " lists, scalars, comments) and throws on anything else.
 */
type Node = string | number | boolean | Node[] | { [k: string]: Node };

function parseYamlSubset(text: string): { [k: string]: Node } {
  const lines = text
    .split("\n")
    .map((raw, i) => ({ raw: raw.replace(/\s+#.*$/, "").replace(/^#.*$/, ""), no: i + 1 }))
    .filter((l) => l.raw.trim() !== "");
  const scalar = (v: string): Node => {
    const t = v.trim();
    if (/^".*"$/.test(t)) return t.slice(1, -1);
    if (/^-?\d+$/.test(t)) return Number(t);
    if (t === "true" || t === "false") return t === "true";
    if (/[{}[\]&*!|>]/.test(t[0] ?? "")) throw new Error(`unsupported YAML scalar ${t}`);
    return t;
  };
  let i = 0;
  const indentOf = (s: string) => s.length - s.trimStart().length;
  function block(indent: number): Node {
    const first = lines[i];
    if (!first) throw new Error("unexpected end");
    if (first.raw.trimStart().startsWith("- ")) {
      const list: Node[] = [];
      while (i < lines.length && indentOf(lines[i]!.raw) === indent && lines[i]!.raw.trimStart().startsWith("- ")) {
        const item = lines[i]!.raw.trimStart().slice(2);
        const kv = /^([A-Za-z_][\w]*):\s*(.*)$/.exec(item);
        if (kv) {
          // "- key: value" starts a map item; further keys are indented by two more.
          const map: { [k: string]: Node } = { [kv[1]!]: scalar(kv[2]!) };
          i++;
          while (i < lines.length && indentOf(lines[i]!.raw) === indent + 2) {
            const m = /^\s*([A-Za-z_][\w]*):\s*(.+)$/.exec(lines[i]!.raw);
            if (!m) throw new Error(`line ${lines[i]!.no}: unsupported`);
            map[m[1]!] = scalar(m[2]!);
            i++;
          }
          list.push(map);
        } else {
          list.push(scalar(item));
          i++;
        }
      }
      return list;
    }
    const map: { [k: string]: Node } = {};
    while (i < lines.length && indentOf(lines[i]!.raw) === indent) {
      const m = /^\s*([A-Za-z_][\w]*):(?:\s+(.*))?$/.exec(lines[i]!.raw);
      if (!m) throw new Error(`line ${lines[i]!.no}: unsupported YAML: ${lines[i]!.raw}`);
      i++;
      if (m[2] !== undefined && m[2] !== "") map[m[1]!] = scalar(m[2]);
      else map[m[1]!] = block(i < lines.length ? indentOf(lines[i]!.raw) : indent + 2);
    }
    return map;
  }
  const root = block(0);
  if (i !== lines.length) throw new Error(`line ${lines[i]!.no}: unexpected indentation`);
  return root as { [k: string]: Node };
}

const dir = __dirname;
const manifest = parseYamlSubset(fs.readFileSync(path.join(dir, "enclaver.yaml"), "utf8"));
const acra = parseYamlSubset(fs.readFileSync(path.join(dir, "acra-server.yaml"), "utf8"));
const supervisor = supervisorConfigSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, "supervisor.json"), "utf8")));
const portOf = (url: string) => Number(new URL(url).port);
const tcpPort = (s: string) => Number(/^tcp:\/\/[^:]+:(\d+)$/.exec(s)?.[1]);

describe("enclave image files", () => {
  it("uses only manifest keys Enclaver v0.5 knows (deny_unknown_fields)", () => {
    const known = ["version", "name", "target", "sources", "signature", "ingress", "egress", "defaults", "kms_proxy", "api"];
    for (const k of Object.keys(manifest)) expect(known).toContain(k);
    expect(manifest.version).toBe("v1");
    for (const k of Object.keys(manifest.egress as object)) expect(["proxy_port", "allow", "deny"]).toContain(k);
    for (const k of Object.keys(manifest.kms_proxy as object)) expect(["listen_port", "endpoints"]).toContain(k);
  });

  it("allows egress only to named KMS endpoints, the metadata service and the host — no wildcard", () => {
    const allow = (manifest.egress as { allow: string[] }).allow;
    for (const entry of allow) expect(entry).not.toContain("*");
    expect(allow).toContain("169.254.169.254");
    expect(allow).toContain("host");
    const others = allow.filter((a) => a !== "169.254.169.254" && a !== "host");
    expect(others.length).toBeGreaterThan(0);
    for (const a of others) expect(a).toMatch(/^kms\.[a-z]{2}-[a-z]+-\d\.amazonaws\.com$/);
  });

  it("wires ports consistently between the manifest, the supervisor and acra-server", () => {
    const ingress = (manifest.ingress as { listen_port: number }[]).map((i) => i.listen_port);
    expect(ingress).toContain(supervisor.port);
    expect(ingress).toContain(tcpPort(acra.incoming_connection_string as string));
    expect(ingress).toContain(tcpPort(acra.incoming_connection_prometheus_metrics_string as string));
    expect(supervisor.acra.healthPort).toBe(tcpPort(acra.incoming_connection_string as string));
    const kmsPort = (manifest.kms_proxy as { listen_port: number }).listen_port;
    const apiPort = (manifest.api as { listen_port: number }).listen_port;
    expect(portOf(supervisor.kmsEndpoint)).toBe(kmsPort);
    expect(portOf(supervisor.odynApiUrl)).toBe(apiPort);
    // Odyn's own ports are inside the enclave only.
    expect(ingress).not.toContain(kmsPort);
    expect(ingress).not.toContain(apiPort);
    // The schema defaults are what the manifest assumes.
    const defaults = supervisorConfigSchema.parse({ region: "r", kmsKeyId: "k", hostKeyStoreUrl: "http://h/", controlToken: "x".repeat(16), acra: { command: ["a"], healthPort: 1 } });
    expect(defaults.port).toBe(supervisor.port);
    expect(portOf(defaults.kmsEndpoint)).toBe(kmsPort);
    expect(portOf(defaults.odynApiUrl)).toBe(apiPort);
  });

  it("configures acra-server as the design requires", () => {
    expect(acra.logging_format).toBe("json");
    expect(acra.poison_detect_enable).toBe(true);
    expect(acra.poison_shutdown_enable).toBe(true);
    expect(acra.tls_auth).toBe(4);
    expect(acra.db_host).toBe("127.0.0.1");
    expect(acra.keys_dir).toBe(supervisor.acra.keysDir);
    expect(acra.keystore_encryption_type).toBe("env_master_key");
    expect(supervisor.labControls).toBe(false);
    expect(supervisor.acra.command[0]).toBe("/usr/local/bin/acra-server");
  });

  it("pins base images by digest and acra by version and commit", () => {
    const docker = fs.readFileSync(path.join(dir, "Dockerfile"), "utf8");
    for (const m of docker.matchAll(/^ARG \w+_IMAGE=(.+)$/gm)) expect(m[1]).toMatch(/@sha256:/);
    expect(docker).toMatch(/ARG ACRA_VERSION=0\.96\.0/);
    expect(docker).toMatch(/rev-parse HEAD\)" = "\$\{ACRA_COMMIT\}"/);
    expect(docker).toContain("npm ci");
    expect(docker).toContain("-trimpath");
  });

  it("the line reader refuses YAML it does not understand", () => {
    expect(() => parseYamlSubset("a: {b: 1}\n")).toThrow();
    expect(() => parseYamlSubset("a:\n  - 1\n b: 2\n")).toThrow();
  });
});
