import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { parseAwsEmulatorArgs } from "./aws-emulator";

const ROOT = path.join(__dirname, "..", "..");

describe("aws-emulator command", () => {
  it("rejects bad arguments", () => {
    expect(parseAwsEmulatorArgs([])).toBe("--data-dir is required");
    expect(parseAwsEmulatorArgs(["--data-dir", "d", "--port", "70000"])).toMatch(/--port/);
    expect(parseAwsEmulatorArgs(["--data-dir", "d", "--regions", "moon"])).toMatch(/--regions/);
    expect(parseAwsEmulatorArgs(["--data-dir", "d", "--bogus", "1"])).toBe("unknown option --bogus");
    expect(parseAwsEmulatorArgs(["--data-dir", "d", "--port", "0", "--regions", "eu-central-1"])).toMatchObject({ port: 0, regions: ["eu-central-1"] });
  });

  it("runs standalone through the CLI, announces its endpoint, serves SDK calls and stops on SIGTERM", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "aws-emulator-cli-"));
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "bin/cli.ts", "aws-emulator", "--data-dir", dataDir, "--port", "0"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const announced = await new Promise<{ endpoint: string; credentials: Record<string, { accessKeyId: string; secretAccessKey: string }> }>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const lineEnd = out.indexOf("\n");
          if (lineEnd >= 0) resolve(JSON.parse(out.slice(0, lineEnd)));
        });
        child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
      });
      const kms = new KMSClient({ endpoint: announced.endpoint, region: "eu-west-1", credentials: announced.credentials.admin!, maxAttempts: 1 });
      expect((await kms.send(new ListKeysCommand({}))).Keys).toEqual([]);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
    expect(fs.existsSync(path.join(dataDir, "aws-emulator.db"))).toBe(true);
  });
});
