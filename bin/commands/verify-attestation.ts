/**
 * `verify-attestation <file>`: verifies a Nitro attestation document offline, for auditors and operators.
 * The file holds the raw COSE_Sign1 bytes or their base64. Exit 0 trusted, 1 not trusted, 2 unreadable input or
 * bad arguments. All verification logic lives in lib/attestation; this file only reads input and prints.
 */
import fs from "node:fs";
import type { CliCommand } from "../command";
import {
  MAX_DOCUMENT_BYTES,
  awsNitroRootG1,
  trustedRootFromPem,
  verifyAttestationDocument,
  type AttestationVerification,
  type TrustedRoot,
  type VerifyOptions,
} from "../../lib/attestation";

const USAGE = `usage: npm run --silent cli -- verify-attestation <file> [options]

Verifies an AWS Nitro Enclaves attestation document (raw CBOR or base64) against the pinned
AWS Nitro Enclaves Root-G1.

options:
  --at <ISO-8601>     verification time (default: now), e.g. 2022-10-13T08:58:02Z
  --root <pem file>   also trust this root (reported as a LAB root); may be repeated
  --pcr0 <hex>        expected PCR0 (96 hex characters); likewise --pcr1, --pcr2
  --nonce <hex>       expected nonce
  --allow-debug       accept a debug-mode enclave (PCR0/1/2 all zero)
  --json              print the full result as JSON

exit codes: 0 trusted, 1 not trusted, 2 unreadable input or bad arguments`;

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  readFile(path: string): Uint8Array;
}

const nodeIo: CliIo = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  readFile: (path) => fs.readFileSync(path),
};

class UsageError extends Error {}

interface Args {
  file: string;
  options: VerifyOptions;
  json: boolean;
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Strict ISO-8601 date-time with an explicit zone; rejects what Date would silently roll over (Feb 30, 25:00). */
function parseIsoDateTime(text: string): Date | null {
  const match = ISO_8601.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second = 0, zoneHour = 0, zoneMinute = 0] = match.slice(1).map((part) => (part === undefined ? undefined : Number(part))) as number[];
  const calendar = new Date(Date.UTC(year!, month! - 1, day!));
  if (calendar.getUTCMonth() !== month! - 1 || calendar.getUTCDate() !== day || hour! > 23 || minute! > 59 || second > 59 || zoneHour > 23 || zoneMinute > 59) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

function parseArgs(argv: string[], io: CliIo): Args {
  let file: string | undefined;
  let json = false;
  const roots: TrustedRoot[] = [];
  const options: VerifyOptions = {};
  const expectedPcrs: Record<number, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case "--json":
        json = true;
        break;
      case "--allow-debug":
        options.allowDebug = true;
        break;
      case "--at": {
        const text = value();
        const date = parseIsoDateTime(text);
        if (!date) throw new UsageError(`--at: "${text}" is not an ISO-8601 date-time such as 2022-10-13T08:58:02Z`);
        options.at = date;
        break;
      }
      case "--root": {
        const path = value();
        let pem: string;
        try {
          pem = Buffer.from(io.readFile(path)).toString("utf8");
        } catch (error) {
          throw new UsageError(`--root: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
        }
        try {
          roots.push(trustedRootFromPem(pem, "lab", `lab root ${path}`));
        } catch (error) {
          throw new UsageError(`--root: ${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
        break;
      }
      case "--pcr0":
      case "--pcr1":
      case "--pcr2": {
        const hex = value();
        if (!/^[0-9a-fA-F]{96}$/.test(hex)) throw new UsageError(`${arg}: expected 96 hex characters (SHA-384)`);
        expectedPcrs[Number(arg.slice(5))] = hex.toLowerCase();
        break;
      }
      case "--nonce": {
        const hex = value();
        if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError("--nonce: expected an even number of hex characters");
        options.expectedNonce = hex.toLowerCase();
        break;
      }
      default:
        if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
        if (file !== undefined) throw new UsageError(`unexpected argument ${arg}`);
        file = arg;
    }
  }
  if (file === undefined) throw new UsageError("missing <file>");
  if (Object.keys(expectedPcrs).length > 0) options.expectedPcrs = expectedPcrs;
  if (roots.length > 0) options.trustedRoots = [awsNitroRootG1(), ...roots];
  return { file, options, json };
}

/** Raw COSE_Sign1 starts with 0x84 (array of 4) or 0xd2 (tag 18); anything made only of base64 characters is decoded. */
function readDocument(path: string, io: CliIo): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = io.readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (bytes.length > 2 * MAX_DOCUMENT_BYTES) throw new UsageError(`${path} is ${bytes.length} bytes; an attestation document is at most ${MAX_DOCUMENT_BYTES} bytes`);
  if (bytes.length === 0) throw new UsageError(`${path} is empty`);
  if (bytes[0] === 0x84 || bytes[0] === 0xd2) return bytes;
  const text = Buffer.from(bytes).toString("latin1").replace(/\s+/g, "");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const decoded = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (decoded.length > 0) return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
  }
  // Neither recognisably raw nor base64: let the verifier say precisely what is wrong with it.
  return bytes;
}

function yesNo(value: boolean | null): string {
  return value === null ? "-" : value ? "yes" : "NO";
}

function summary(file: string, result: AttestationVerification): string[] {
  const lines: string[] = [];
  const doc = result.document;
  lines.push(`${result.trusted ? "TRUSTED" : "NOT TRUSTED"}  ${file}`);
  if (result.root?.kind === "lab") lines.push("  !! LAB ROOT: this document was NOT signed by AWS Nitro hardware !!");
  lines.push(`  sha256             ${result.sha256}`);
  lines.push(`  verified at        ${result.verifiedAt.toISOString()}`);
  lines.push(`  valid at issuance  ${yesNo(result.validAtIssuance)}`);
  lines.push(`  valid now          ${yesNo(result.validNow)}`);
  lines.push(`  fresh              ${yesNo(result.fresh)}`);
  lines.push(`  matches policy     ${yesNo(result.matchesPolicy)}`);
  lines.push(`  debug mode         ${result.debug === null ? "-" : result.debug ? "YES" : "no"}`);
  lines.push(`  root               ${result.root ? `${result.root.kind} (${result.root.label}) ${result.root.sha256}` : "none"}`);
  if (doc) {
    lines.push(`  module id          ${doc.moduleId}`);
    lines.push(`  timestamp          ${doc.timestamp.toISOString()} (${doc.timestampMs})`);
    lines.push(`  nonce              ${doc.nonce ?? "null"}`);
    lines.push(`  user data          ${doc.userData === null ? "null" : `${doc.userData.length / 2} bytes`}`);
    lines.push(`  public key         ${doc.publicKey === null ? "null" : `${doc.publicKey.length / 2} bytes`}`);
    lines.push("  PCRs");
    for (const [index, value] of Object.entries(doc.pcrs)) lines.push(`    ${index.padStart(2)}  ${value}`);
  }
  if (result.chain.length > 0) {
    lines.push("  chain (root first)");
    for (const cert of result.chain) {
      const validity = `${cert.notBefore.toISOString()} .. ${cert.notAfter.toISOString()}`;
      const status = cert.validAtIssuance && cert.validNow ? "valid" : `${cert.validAtIssuance ? "" : "invalid at issuance "}${cert.validNow ? "" : "invalid now"}`.trim();
      lines.push(`    ${cert.role.padEnd(12)} ${cert.subject}`);
      lines.push(`    ${"".padEnd(12)} ${validity}  ${status}  sha256 ${cert.sha256}`);
    }
  }
  if (result.reasons.length > 0) {
    lines.push("  reasons");
    for (const reason of result.reasons) lines.push(`    - ${reason.code}: ${reason.message}`);
  }
  return lines;
}

/** The command body with its I/O injected (tests call it in-process). */
export async function runVerifyAttestation(argv: string[], io: CliIo = nodeIo): Promise<number> {
  let args: Args;
  let bytes: Uint8Array;
  try {
    args = parseArgs(argv, io);
    bytes = readDocument(args.file, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`verify-attestation: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const result = verifyAttestationDocument(bytes, args.options);
  if (args.json) io.out(JSON.stringify(result, null, 2));
  else for (const line of summary(args.file, result)) io.out(line);
  return result.trusted ? 0 : 1;
}

export const command: CliCommand = {
  name: "verify-attestation",
  summary: "verify a Nitro attestation document (chain to the AWS root, signature, freshness, PCRs)",
  usage: USAGE,
  run: (argv) => runVerifyAttestation(argv),
};
