/**
 * The Prometheus metrics acra-server exposes on --incoming_connection_prometheus_metrics_string (research notes §3:
 * cmd/acra-server/common/prometheus.go, decryptor/base/prometheus.go, cmd/prometheus.go), rendered in the text
 * exposition format 0.0.4. Pure state + rendering. HELP texts are the simulator's wording.
 */

/** client_golang's prometheus.DefBuckets. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

function newHistogram(): Histogram {
  return { counts: DEFAULT_BUCKETS.map(() => 0), sum: 0, count: 0 };
}

export type DecryptionStatus = "success" | "fail";
export type ContainerType = "acrablock" | "acrastruct" | "acrablock_searchable" | "acrastruct_searchable";

export interface AcraMetrics {
  incConnection(connectionType: "db" | "api"): void;
  observeConnectionSeconds(connectionType: "db" | "api", seconds: number): void;
  incDecryption(status: DecryptionStatus, type: ContainerType): void;
  incEncryption(status: DecryptionStatus, type: ContainerType): void;
  observeRequestSeconds(db: string, seconds: number): void;
  observeResponseSeconds(db: string, seconds: number): void;
  render(): string;
}

function labels(pairs: Record<string, string>): string {
  const inner = Object.entries(pairs)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
  return inner ? `{${inner}}` : "";
}

export function createAcraMetrics(version: string, edition: "ce" | "ee" = "ce"): AcraMetrics {
  const connections = new Map<string, number>();
  const connectionSeconds = new Map<string, Histogram>();
  const decryptions = new Map<string, number>();
  const encryptions = new Map<string, number>();
  const requestSeconds = new Map<string, Histogram>();
  const responseSeconds = new Map<string, Histogram>();
  const [major = "0", minor = "0", patch = "0"] = version.split(".");

  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const observe = (map: Map<string, Histogram>, key: string, value: number) => {
    const h = map.get(key) ?? newHistogram();
    DEFAULT_BUCKETS.forEach((le, i) => {
      if (value <= le) h.counts[i] = (h.counts[i] ?? 0) + 1;
    });
    h.sum += value;
    h.count += 1;
    map.set(key, h);
  };

  function renderCounter(out: string[], name: string, help: string, map: Map<string, number>, labelNames: string[]): void {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
    for (const [key, value] of [...map.entries()].sort()) {
      const values = key.split("\u0000");
      out.push(`${name}${labels(Object.fromEntries(labelNames.map((l, i) => [l, values[i] ?? ""])))} ${value}`);
    }
  }

  function renderHistogram(out: string[], name: string, help: string, map: Map<string, Histogram>, labelName: string): void {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const [key, h] of [...map.entries()].sort()) {
      DEFAULT_BUCKETS.forEach((le, i) => out.push(`${name}_bucket${labels({ [labelName]: key, le: String(le) })} ${h.counts[i] ?? 0}`));
      out.push(`${name}_bucket${labels({ [labelName]: key, le: "+Inf" })} ${h.count}`);
      out.push(`${name}_sum${labels({ [labelName]: key })} ${h.sum}`);
      out.push(`${name}_count${labels({ [labelName]: key })} ${h.count}`);
    }
  }

  return {
    incConnection: (type) => bump(connections, type),
    observeConnectionSeconds: (type, seconds) => observe(connectionSeconds, type, seconds),
    incDecryption: (status, type) => bump(decryptions, `${status}\u0000${type}`),
    incEncryption: (status, type) => bump(encryptions, `${status}\u0000${type}`),
    observeRequestSeconds: (db, seconds) => observe(requestSeconds, db, seconds),
    observeResponseSeconds: (db, seconds) => observe(responseSeconds, db, seconds),
    render() {
      const out: string[] = [];
      renderCounter(out, "acraserver_connections_total", "number of connections to acra-server", connections, ["connection_type"]);
      renderHistogram(out, "acraserver_connections_processing_seconds", "time of connection processing", connectionSeconds, "connection_type");
      renderHistogram(out, "acraserver_request_processing_seconds", "time of request processing", requestSeconds, "db");
      renderHistogram(out, "acraserver_response_processing_seconds", "time of response processing", responseSeconds, "db");
      renderCounter(out, "acra_decryptions_total", "number of decryptions", decryptions, ["status", "type"]);
      renderCounter(out, "acra_encryptions_total", "number of encryptions", encryptions, ["status", "type"]);
      for (const [name, value] of [
        ["acraserver_version_major", major],
        ["acraserver_version_minor", minor],
        ["acraserver_version_patch", patch],
      ] as const) {
        out.push(`# HELP ${name} ${name.replace("acraserver_", "").replace("_", " ")} of acra-server`, `# TYPE ${name} gauge`, `${name} ${Number(value) || 0}`);
      }
      out.push(
        "# HELP acraserver_build_info acra-server build information",
        "# TYPE acraserver_build_info counter",
        `acraserver_build_info${labels({ edition, version })} 1`,
      );
      return out.join("\n") + "\n";
    },
  };
}
