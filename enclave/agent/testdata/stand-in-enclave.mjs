// A tiny stand-in for enclave/lab/nitro/simulated-enclave.ts that obeys the same process contract
// (/work/lab-contract.md), so the agent's simulator backend can be tested on its own:
//   node stand-in-enclave.mjs --config <file>
// - supervisor API on supervisorPort: POST /v1/attestation (raw bytes, application/cbor), GET /v1/health,
//   POST /v1/control/reload-keys (Bearer controlToken; re-reads the keystore blob from hostKeyStoreUrl)
// - "acra-server": TCP accept on acra.port, Prometheus text on acra.metricsPort
// - log lines on stdout; SIGTERM = clean exit 0.
// The attestation "document" is deterministic (marker bytes incl. CR/LF/NUL/0xff, the nonce, the enclave id) so a
// test can check the agent passes the bytes through untouched.
import fs from "node:fs";
import http from "node:http";
import net from "node:net";

const config = JSON.parse(fs.readFileSync(process.argv[process.argv.indexOf("--config") + 1], "utf8"));
let keystoreVersion = null;
let lastLogAt = null;

function log(msg, extra = {}) {
  lastLogAt = new Date().toISOString();
  process.stdout.write(JSON.stringify({ level: "info", msg, product: "acra-server", timestamp: lastLogAt, ...extra }) + "\n");
}

async function loadKeystore() {
  const res = await fetch(`${config.hostKeyStoreUrl}/keystore`);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`keystore fetch ${res.status}`);
  const body = await res.json();
  return body.version;
}

export function documentBytes(nonceHex, enclaveId) {
  return Buffer.concat([Buffer.from([0xd2, 0x84, 0x0d, 0x0a, 0x00, 0xff]), Buffer.from(nonceHex, "hex"), Buffer.from(enclaveId)]);
}

const supervisor = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    try {
      if (req.method === "POST" && req.url === "/v1/attestation") {
        const { nonce } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const doc = documentBytes(nonce, config.enclaveId);
        res.writeHead(200, { "Content-Type": "application/cbor", "Content-Length": doc.length });
        res.end(doc);
      } else if (req.method === "GET" && req.url === "/v1/health") {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ supervisor: "ok", acra: { state: "up", pid: process.pid, restarts: 0, lastLogAt }, keystoreVersion }));
      } else if (req.method === "POST" && req.url === "/v1/control/reload-keys") {
        if (req.headers.authorization !== `Bearer ${config.controlToken}`) {
          res.writeHead(401);
          res.end();
          return;
        }
        keystoreVersion = await loadKeystore();
        log("reloaded keys", { keystoreVersion });
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ ok: true, keystoreVersion }));
      } else {
        res.writeHead(404);
        res.end();
      }
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
});

const acra = net.createServer((s) => s.end());
const metrics = http.createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
  res.end(
    [
      "# HELP acraserver_connections_total number of connections to database",
      "# TYPE acraserver_connections_total counter",
      'acraserver_connections_total{connection_type="db"} 5',
      'acraserver_connections_total{connection_type="api"} 2',
      'acra_decryptions_total{status="success",type="acrablock"} 40',
      'acra_decryptions_total{status="fail",type="acrablock"} 1',
      'acraserver_build_info{edition="ce",version="0.96.0"} 1',
      "",
    ].join("\n"),
  );
});

keystoreVersion = await loadKeystore().catch(() => null);
log("Starting service acra-server", { debugMode: config.debugMode });
await new Promise((r) => acra.listen(config.acra.port, "127.0.0.1", r));
await new Promise((r) => metrics.listen(config.acra.metricsPort, "127.0.0.1", r));
await new Promise((r) => supervisor.listen(config.supervisorPort, "127.0.0.1", r));
log("Start listening to connections");
const ticker = setInterval(() => log("tick"), 300);

process.on("SIGTERM", () => {
  clearInterval(ticker);
  log("terminating");
  for (const s of [supervisor, acra, metrics]) s.close();
  process.exit(0);
});
