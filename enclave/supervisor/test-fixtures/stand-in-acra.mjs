// Test stand-in for acra-server: accepts TCP on ACRA_SIM_PORT (the supervisor's health probe), prints one log line
// proving which master key it received (a hash, never the key), and exits cleanly on SIGTERM.
import crypto from "node:crypto";
import net from "node:net";

const key = process.env.ACRA_MASTER_KEY ?? "";
const server = net.createServer((s) => s.end());
server.listen(Number(process.env.ACRA_SIM_PORT), "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ msg: "stand-in acra listening", pid: process.pid, masterKeySha256: crypto.createHash("sha256").update(Buffer.from(key, "base64")).digest("hex"), kmsEndpoint: process.env.AWS_ENDPOINT_KMS ?? null })}\n`,
  );
  process.stderr.write("stderr line from stand-in acra\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
