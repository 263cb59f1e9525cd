/**
 * Operations with ids, idempotency keys and step-by-step progress, persisted to one JSON file (rewritten
 * atomically on every change) so an agent restart neither loses them nor runs one twice.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import {
  operationSchema,
  type Operation,
  type OperationStep,
  type ParsedOperationRequest,
} from "@/lib/fleet/agent-protocol";

const fileSchema = z.object({
  version: z.literal(1),
  operations: z.array(z.object({ operation: operationSchema, requestHash: z.string(), request: z.unknown() })),
});

interface Entry {
  operation: Operation;
  requestHash: string;
  request: ParsedOperationRequest;
}

/** JSON with sorted keys, so the same request body always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(req: ParsedOperationRequest): string {
  return crypto.createHash("sha256").update(canonicalJson(req)).digest("hex");
}

export class IdempotencyConflictError extends Error {
  readonly code = "idempotency-conflict";
  constructor(readonly existing: Operation) {
    super(`idempotency key ${existing.idempotencyKey} was already used with a different request (operation ${existing.id})`);
    this.name = "IdempotencyConflictError";
  }
}

export class OperationStore {
  private readonly byId = new Map<string, Entry>();
  private readonly byKey = new Map<string, Entry>();
  private readonly listeners = new Map<string, Set<(op: Operation) => void>>();

  private constructor(
    private readonly file: string,
    private readonly retain: number,
  ) {}

  /**
   * Loads the file. Operations that were pending or running when the agent stopped are marked failed: the agent
   * cannot know how far a half-done nitro-cli call got, so it reports that honestly instead of guessing.
   */
  static open(file: string, retain = 1000): OperationStore {
    const store = new OperationStore(file, retain);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (!fs.existsSync(file)) return store;
    const parsed = fileSchema.parse(JSON.parse(fs.readFileSync(file, "utf8")));
    let changed = false;
    const now = new Date().toISOString();
    for (const raw of parsed.operations) {
      const entry: Entry = { ...raw, request: raw.request as ParsedOperationRequest };
      const op = entry.operation;
      if (op.status === "pending" || op.status === "running") {
        for (const s of op.steps) {
          if (s.status === "running") Object.assign(s, { status: "failed", endedAt: now, message: "agent restarted during this step" });
        }
        Object.assign(op, {
          status: "failed",
          updatedAt: now,
          error: { code: "agent-restarted", message: "the agent restarted while the operation was in progress; check state and retry with a new idempotency key" },
        });
        changed = true;
      }
      store.byId.set(op.id, entry);
      store.byKey.set(op.idempotencyKey, entry);
    }
    if (changed) store.persist();
    return store;
  }

  private persist(): void {
    const all = [...this.byId.values()];
    const body = JSON.stringify({ version: 1, operations: all });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.writeFileSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }

  /**
   * Same key and same request: the existing operation (created=false). Same key, different request: conflict.
   * New key: a new pending operation with the given steps.
   */
  createOrGet(request: ParsedOperationRequest, stepNames: string[]): { operation: Operation; created: boolean } {
    const hash = requestHash(request);
    const existing = this.byKey.get(request.idempotencyKey);
    if (existing) {
      if (existing.requestHash !== hash) throw new IdempotencyConflictError(existing.operation);
      return { operation: existing.operation, created: false };
    }
    const now = new Date().toISOString();
    const operation: Operation = {
      id: `op-${Date.now().toString(36)}-${crypto.randomBytes(6).toString("hex")}`,
      kind: request.kind,
      enclaveId: request.enclaveId ?? null,
      idempotencyKey: request.idempotencyKey,
      status: "pending",
      createdAt: now,
      updatedAt: now,
      steps: stepNames.map((name) => ({ name, status: "pending", startedAt: null, endedAt: null, message: null })),
      error: null,
      result: null,
    };
    const entry: Entry = { operation, requestHash: hash, request };
    this.byId.set(operation.id, entry);
    this.byKey.set(operation.idempotencyKey, entry);
    this.trim();
    this.persist();
    return { operation, created: true };
  }

  private trim(): void {
    if (this.byId.size <= this.retain) return;
    for (const entry of this.byId.values()) {
      if (this.byId.size <= this.retain) break;
      if (entry.operation.status === "pending" || entry.operation.status === "running") continue;
      this.byId.delete(entry.operation.id);
      this.byKey.delete(entry.operation.idempotencyKey);
    }
  }

  get(id: string): Operation | undefined {
    return this.byId.get(id)?.operation;
  }

  request(id: string): ParsedOperationRequest | undefined {
    return this.byId.get(id)?.request;
  }

  /** Applies a change, stamps updatedAt, persists, and tells stream listeners. */
  update(id: string, change: (op: Operation) => void): Operation {
    const entry = this.byId.get(id);
    if (!entry) throw new Error(`unknown operation ${id}`);
    change(entry.operation);
    entry.operation.updatedAt = new Date().toISOString();
    this.persist();
    const snapshot = structuredClone(entry.operation);
    for (const l of this.listeners.get(id) ?? []) l(snapshot);
    return snapshot;
  }

  updateStep(id: string, stepName: string, change: Partial<OperationStep>): Operation {
    return this.update(id, (op) => {
      const step = op.steps.find((s) => s.name === stepName);
      if (!step) throw new Error(`operation ${id} has no step ${stepName}`);
      Object.assign(step, change);
    });
  }

  subscribe(id: string, listener: (op: Operation) => void): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }
}
