/**
 * `aws-emulator`: runs the lab's AWS emulator (KMS, CloudTrail, CloudWatch Logs over AWS JSON 1.1 + SigV4) on its
 * own, until SIGINT/SIGTERM. Prints one JSON line with the endpoint, account, regions and the lab credentials, so
 * scripts can point SDK clients at it.
 *
 * Standalone, no attestation verifier is wired: KMS requests with a `Recipient` are refused as invalid. The lab
 * (`npm run lab`) passes the real verifier from lib/attestation with the lab root.
 */
import path from "node:path";
import type { CliCommand } from "../command";
import { createAwsEmulator, LAB_CREDENTIALS, type AwsEmulator } from "../../enclave/lab/aws";

const USAGE = `usage: npm run --silent cli -- aws-emulator --data-dir <folder> [options]

Runs the lab AWS emulator until interrupted. Prints {"endpoint", "accountId", "regions", "credentials"} as one
JSON line on stdout when it is listening.

options:
  --data-dir <folder>        where aws-emulator.db is kept (required)
  --port <n>                 TCP port (default 0: any free port)
  --host <address>           listen address (default 127.0.0.1)
  --account <12 digits>      account id (default 111122223333)
  --regions <r1,r2,...>      served regions (default eu-west-1,us-east-1)
  --cloudtrail-rate <n>      LookupEvents calls per second per region (default 2, as AWS)
  --pcr-encoding hex|base64  how CloudTrail writes attestation PCRs (default hex)`;

export interface AwsEmulatorArgs {
  dataDir: string;
  port: number;
  host: string;
  accountId: string;
  regions: string[];
  cloudTrailPerSecond: number;
  pcrEncoding: "hex" | "base64";
}

/** Parses the command line; a string is the error to print (exit 2). */
export function parseAwsEmulatorArgs(argv: string[]): AwsEmulatorArgs | string {
  const args: AwsEmulatorArgs = {
    dataDir: "",
    port: 0,
    host: "127.0.0.1",
    accountId: "111122223333",
    regions: ["eu-west-1", "us-east-1"],
    cloudTrailPerSecond: 2,
    pcrEncoding: "hex",
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) return `${flag} needs a value`;
    i++;
    switch (flag) {
      case "--data-dir":
        args.dataDir = path.resolve(value);
        break;
      case "--port":
        args.port = Number(value);
        if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) return `--port must be 0..65535, got ${value}`;
        break;
      case "--host":
        args.host = value;
        break;
      case "--account":
        if (!/^\d{12}$/.test(value)) return `--account must be 12 digits, got ${value}`;
        args.accountId = value;
        break;
      case "--regions":
        args.regions = value.split(",").map((r) => r.trim()).filter(Boolean);
        if (args.regions.length === 0 || args.regions.some((r) => !/^[a-z]{2}(-[a-z]+)+-\d$/.test(r))) return `--regions must be AWS region names, got ${value}`;
        break;
      case "--cloudtrail-rate":
        args.cloudTrailPerSecond = Number(value);
        if (!(args.cloudTrailPerSecond > 0)) return `--cloudtrail-rate must be a positive number, got ${value}`;
        break;
      case "--pcr-encoding":
        if (value !== "hex" && value !== "base64") return `--pcr-encoding must be hex or base64, got ${value}`;
        args.pcrEncoding = value;
        break;
      default:
        return `unknown option ${flag}`;
    }
  }
  if (!args.dataDir) return "--data-dir is required";
  return args;
}

export async function startFromArgs(args: AwsEmulatorArgs): Promise<AwsEmulator> {
  return createAwsEmulator({
    dataDir: args.dataDir,
    port: args.port,
    host: args.host,
    accountId: args.accountId,
    regions: args.regions,
    throttle: { cloudTrailPerSecond: args.cloudTrailPerSecond },
    cloudTrailPcrEncoding: args.pcrEncoding,
    attestationVerifier: () => ({
      ok: false,
      reason: "the standalone aws-emulator has no attestation verifier; run it through the lab, which wires lib/attestation with the lab root",
    }),
  });
}

export const command: CliCommand = {
  name: "aws-emulator",
  summary: "run the lab AWS emulator (KMS, CloudTrail, CloudWatch Logs) standalone",
  usage: USAGE,
  async run(argv) {
    const args = parseAwsEmulatorArgs(argv);
    if (typeof args === "string") {
      console.error(`${args}\n\n${USAGE}`);
      return 2;
    }
    const emulator = await startFromArgs(args);
    console.log(
      JSON.stringify({
        endpoint: emulator.endpoint,
        accountId: args.accountId,
        regions: args.regions,
        credentials: Object.fromEntries(
          Object.entries(LAB_CREDENTIALS).map(([name, c]) => [name, { name: c.name, accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }]),
        ),
      }),
    );
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await emulator.close();
    return 0;
  },
};
