import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLabCa, issueLeaf, moduleIdFor, type InstanceChain, type LabCa } from "./lab-ca";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Reads basicConstraints / keyUsage straight from the DER with a tiny ASN.1 walker, independent of @peculiar/x509. */
interface Tlv {
  tag: number;
  start: number;
  len: number;
  end: number;
}
function readTlv(b: Buffer, at: number): Tlv {
  const tag = b[at]!;
  let len = b[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | b[start + i]!;
    start += n;
  }
  return { tag, start, len, end: start + len };
}
function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; ) {
    const c = readTlv(b, p);
    out.push(c);
    p = c.end;
  }
  return out;
}
const OID_BASIC = Buffer.from("551d13", "hex");
const OID_KU = Buffer.from("551d0f", "hex");
interface Ext {
  critical: boolean;
  value: Buffer;
}
function extensions(der: Buffer): Map<string, Ext> {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0]!;
  const exts = children(der, tbs).find((c) => c.tag === 0xa3);
  const out = new Map<string, Ext>();
  if (!exts) return out;
  for (const ext of children(der, children(der, exts)[0]!)) {
    const parts = children(der, ext);
    const oid = der.subarray(parts[0]!.start, parts[0]!.end).toString("hex");
    const critical = parts.length === 3 && der[parts[1]!.start] === 0xff;
    const octet = parts[parts.length - 1]!;
    out.set(oid, { critical, value: der.subarray(octet.start, octet.end) });
  }
  return out;
}
function basicConstraints(der: Buffer): { critical: boolean; ca: boolean; pathLen: number | null } {
  const e = extensions(der).get(OID_BASIC.toString("hex"));
  if (!e) throw new Error("no basicConstraints");
  const seq = readTlv(e.value, 0);
  let ca = false;
  let pathLen: number | null = null;
  for (const c of children(e.value, seq)) {
    if (c.tag === 0x01) ca = e.value[c.start] === 0xff;
    if (c.tag === 0x02) pathLen = e.value[c.start]!;
  }
  return { critical: e.critical, ca, pathLen };
}
/** keyUsage bits as names, RFC 5280 bit order. */
function keyUsage(der: Buffer): { critical: boolean; usages: string[] } {
  const e = extensions(der).get(OID_KU.toString("hex"));
  if (!e) throw new Error("no keyUsage");
  const bs = readTlv(e.value, 0);
  const bytes = e.value.subarray(bs.start + 1, bs.end);
  const names = ["digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign"];
  const usages = names.filter((_, i) => ((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1);
  return { critical: e.critical, usages };
}
const lifetime = (c: crypto.X509Certificate) => new Date(c.validTo).getTime() - new Date(c.validFrom).getTime();

describe("lab CA", () => {
  let dir: string;
  let ca: LabCa;
  let chain: InstanceChain;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "lab-ca-"));
    ca = await ensureLabCa(dir);
    chain = await ca.instanceChain("us-east-1", "i-0a22e5c5f24d22174");
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("builds root -> regional -> zonal -> instance -> leaf shaped like AWS's chain", async () => {
    const leaf = await issueLeaf(chain, "0183d09086c24190");
    const certs = [...chain.cabundle, leaf.certDer].map((d) => new crypto.X509Certificate(d));
    const [root, regional, zonal, instance, leafCert] = certs as [
      crypto.X509Certificate,
      crypto.X509Certificate,
      crypto.X509Certificate,
      crypto.X509Certificate,
      crypto.X509Certificate,
    ];

    expect(root.subject).toContain("CN=lab.nitro-enclaves");
    expect(root.subject).toBe(root.issuer);
    expect(regional.subject).toMatch(/CN=[0-9a-f]{16}\.us-east-1\.lab\.nitro-enclaves/);
    expect(zonal.subject).toMatch(/CN=[0-9a-f]{16}\.zonal\.us-east-1\.lab\.nitro-enclaves/);
    expect(instance.subject).toContain("CN=i-0a22e5c5f24d22174.us-east-1.lab.nitro-enclaves");
    expect(leafCert.subject).toContain("CN=i-0a22e5c5f24d22174-enc0183d09086c24190.us-east-1.lab");

    // Each certificate is issued and signed by the previous one; the root is self-signed.
    expect(root.verify(root.publicKey)).toBe(true);
    for (let i = 1; i < certs.length; i++) {
      expect(certs[i]!.checkIssued(certs[i - 1]!)).toBe(true);
      expect(certs[i]!.verify(certs[i - 1]!.publicKey)).toBe(true);
    }

    for (const c of certs) {
      expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe("secp384r1");
      // ecdsa-with-SHA384 = 1.2.840.10045.4.3.3
      expect(c.raw.includes(Buffer.from("06082a8648ce3d040303", "hex"))).toBe(true);
    }

    expect(basicConstraints(root.raw)).toEqual({ critical: true, ca: true, pathLen: null });
    expect(basicConstraints(regional.raw)).toEqual({ critical: true, ca: true, pathLen: 2 });
    expect(basicConstraints(zonal.raw)).toEqual({ critical: true, ca: true, pathLen: 1 });
    expect(basicConstraints(instance.raw)).toEqual({ critical: true, ca: true, pathLen: 0 });
    expect(basicConstraints(leafCert.raw)).toMatchObject({ ca: false, pathLen: null });

    const caUsages = ["digitalSignature", "keyCertSign", "cRLSign"];
    for (const c of [root, regional, zonal]) expect(keyUsage(c.raw)).toEqual({ critical: true, usages: caUsages });
    expect(keyUsage(instance.raw)).toEqual({ critical: true, usages: ["keyCertSign"] });
    expect(keyUsage(leafCert.raw)).toEqual({ critical: false, usages: ["digitalSignature", "nonRepudiation"] });

    const approx = (ms: number, expected: number) => expect(Math.abs(ms - expected)).toBeLessThan(60_000);
    expect(lifetime(root)).toBeGreaterThan(29 * 365 * DAY);
    approx(lifetime(regional), 20 * DAY);
    approx(lifetime(zonal), 6 * DAY);
    approx(lifetime(instance), DAY);
    approx(lifetime(leafCert), 3 * HOUR);
    // The leaf key signs; it is the key of the leaf certificate.
    const sig = crypto.sign("sha384", Buffer.from("x"), leaf.privateKey);
    expect(crypto.verify("sha384", Buffer.from("x"), leafCert.publicKey, sig)).toBe(true);
  });

  it("persists the CA with private keys 0600 and reuses it", async () => {
    const again = await ensureLabCa(dir);
    expect(again.rootDer.equals(ca.rootDer)).toBe(true);
    expect(again.rootSha256).toBe(crypto.createHash("sha256").update(ca.rootDer).digest("hex"));
    const chain2 = await again.instanceChain("us-east-1", "i-0a22e5c5f24d22174");
    expect(chain2.cabundle.map((b) => b.toString("hex"))).toEqual(chain.cabundle.map((b) => b.toString("hex")));
    for (const f of ["root.pem", "regional-us-east-1.pem", "zonal-us-east-1.pem", "instance-i-0a22e5c5f24d22174.pem"]) {
      const st = await fs.stat(path.join(dir, f));
      expect(st.mode & 0o777).toBe(0o600);
      expect(await fs.readFile(path.join(dir, f), "utf8")).toContain("BEGIN PRIVATE KEY");
    }
    const publicRoot = await fs.readFile(path.join(dir, "root.crt.pem"), "utf8");
    expect(publicRoot).toBe(ca.rootPem);
    expect(publicRoot).not.toContain("PRIVATE");
  });

  it("creates one root when several processes race on an empty folder", async () => {
    const raceDir = await fs.mkdtemp(path.join(os.tmpdir(), "lab-ca-race-"));
    try {
      const cas = await Promise.all([1, 2, 3, 4].map(() => ensureLabCa(raceDir)));
      const roots = new Set(cas.map((c) => c.rootSha256));
      expect(roots.size).toBe(1);
    } finally {
      await fs.rm(raceDir, { recursive: true, force: true });
    }
  });

  it("renews expired intermediates and keeps the chain consistent", async () => {
    let now = new Date();
    const renewDir = await fs.mkdtemp(path.join(os.tmpdir(), "lab-ca-renew-"));
    try {
      const c = await ensureLabCa(renewDir, { now: () => now });
      const first = await c.instanceChain("eu-west-1", "i-0123456789abcdef0");
      now = new Date(now.getTime() + 2 * DAY); // instance (1 d) expired, zonal (6 d) still fine
      const second = await c.instanceChain("eu-west-1", "i-0123456789abcdef0");
      expect(second.zonal.certDer.equals(first.zonal.certDer)).toBe(true);
      expect(second.instance.certDer.equals(first.instance.certDer)).toBe(false);
      now = new Date(now.getTime() + 5 * DAY); // zonal expired too
      const third = await c.instanceChain("eu-west-1", "i-0123456789abcdef0");
      expect(third.zonal.certDer.equals(second.zonal.certDer)).toBe(false);
      expect(third.regional.certDer.equals(first.regional.certDer)).toBe(true);
      const certs = third.cabundle.map((d) => new crypto.X509Certificate(d));
      for (let i = 1; i < certs.length; i++) expect(certs[i]!.verify(certs[i - 1]!.publicKey)).toBe(true);
      for (const cert of certs) {
        expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(now.getTime());
        expect(new Date(cert.validTo).getTime()).toBeGreaterThan(now.getTime() + 3 * HOUR);
      }
    } finally {
      await fs.rm(renewDir, { recursive: true, force: true });
    }
  });

  it("derives module ids in nitro-cli's EnclaveID shape", () => {
    expect(moduleIdFor("i-0a22e5c5f24d22174", "i-0a22e5c5f24d22174-enc0183d09086c24190")).toBe("i-0a22e5c5f24d22174-enc0183d09086c24190");
    expect(moduleIdFor("i-0a22e5c5f24d22174", "0183d09086c24190")).toBe("i-0a22e5c5f24d22174-enc0183d09086c24190");
    expect(moduleIdFor("i-0a22e5c5f24d22174", "enclave-1")).toMatch(/^i-0a22e5c5f24d22174-enc[0-9a-f]{16}$/);
  });
});
