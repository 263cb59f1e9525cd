/**
 * Test stand-in for enclave/lab/nitro/simulated-enclave.ts that obeys the same process contract (/work/lab-contract.md)
 * but skips KMS and acra-server: it serves REAL lab-signed attestation documents (the lab CA and the NSM-shaped
 * signer of enclave/lab/nitro) for the nonce it is asked, so the attestation job can be tested against a real host
 * agent over mTLS in a second or two.
 *   node --import tsx lib/attestation/testdata/attesting-stand-in-enclave.ts --config <file>
 * Lab-only knob for tests: a file `<config dir>/measurements.json` ({pcr0, pcr1, pcr2}) read at each request
 * replaces the measurements, standing in for an enclave whose image was swapped underneath the console.
 */
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { AttestationSigner, type Measurements } from "../../../enclave/lab/nitro/attestation-signer";
import { ensureLabCa } from "../../../enclave/lab/nitro/lab-ca";
import { simulatedEnclaveConfigSchema } from "../../../enclave/lab/nitro/simulated-enclave-config";

const configPath = process.argv[process.argv.indexOf("--config") + 1]!;
const config = simulatedEnclaveConfigSchema.parse(JSON.parse(fs.readFileSync(configPath, "utf8")));
const overridePath = path.join(path.dirname(configPath), "measurements.json");
const caPromise = ensureLabCa(config.labCaDir);
const signers = new Map<string, AttestationSigner>();

async function signerFor(measurements: Measurements): Promise<AttestationSigner> {
  const ca = await caPromise;
  const key = JSON.stringify(measurements);
  let signer = signers.get(key);
  if (!signer) {
    signer = new AttestationSigner({
      ca,
      region: config.region,
      parentInstanceId: config.parentInstanceId,
      enclaveId: config.enclaveId,
      roleArn: config.roleArn,
      measurements,
      debugMode: config.debugMode,
    });
    signers.set(key, signer);
  }
  return signer;
}

function currentMeasurements(): Measurements {
  try {
    return JSON.parse(fs.readFileSync(overridePath, "utf8")) as Measurements;
  } catch {
    return config.measurements;
  }
}

const log = (msg: string) => process.stdout.write(`${JSON.stringify({ level: "info", msg, product: "acra-server", timestamp: new Date().toISOString() })}\n`);

const supervisor = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    void (async () => {
      try {
        if (req.method === "POST" && req.url === "/v1/attestation") {
          const { nonce } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { nonce?: string };
          const doc = await (await signerFor(currentMeasurements())).attest({ nonce: nonce ? Buffer.from(nonce, "hex") : null });
          res.writeHead(200, { "Content-Type": "application/cbor", "Content-Length": doc.length });
          res.end(doc);
        } else if (req.method === "GET" && req.url === "/v1/health") {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ supervisor: "ok", acra: { state: "up", pid: process.pid, restarts: 0, lastLogAt: new Date().toISOString() }, keystoreVersion: null }));
        } else {
          res.writeHead(404);
          res.end();
        }
      } catch (error) {
        res.writeHead(500);
        res.end(String(error));
      }
    })();
  });
});
const acra = net.createServer((socket) => socket.end());
const metrics = http.createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
  res.end('acraserver_build_info{edition="ce",version="0.96.0"} 1\n');
});

async function main(): Promise<void> {
  await caPromise;
  await new Promise<void>((resolve) => acra.listen(config.acra.port, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => metrics.listen(config.acra.metricsPort, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => supervisor.listen(config.supervisorPort, "127.0.0.1", resolve));
  log("Start listening to connections");
}

main().catch((error: unknown) => {
  process.stderr.write(`stand-in enclave: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

process.on("SIGTERM", () => {
  for (const server of [supervisor, acra, metrics]) server.close();
  process.exit(0);
});
