/**
 * The agent's event log: state changes with increasing ids, persisted as JSON lines so ids keep increasing across
 * agent restarts and a console can resume with `?since=<last id it stored>` without gaps or duplicates.
 */
import fs from "node:fs";
import path from "node:path";
import { agentEventSchema, type AgentEvent, type AgentEventInput } from "@/lib/fleet/agent-protocol";

export class EventLog {
  private events: AgentEvent[] = [];
  private nextId = 1;
  private linesInFile = 0;
  private readonly listeners = new Set<(e: AgentEvent) => void>();

  private constructor(
    private readonly file: string,
    private readonly retain: number,
  ) {}

  static open(file: string, retain = 2000): EventLog {
    const log = new EventLog(file, retain);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (fs.existsSync(file)) {
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!line.trim()) continue;
        log.linesInFile++;
        try {
          const e = agentEventSchema.parse(JSON.parse(line));
          log.events.push(e);
          log.nextId = Math.max(log.nextId, e.id + 1);
        } catch {
          // A line torn by a crash mid-append is skipped; the ids around it stay valid.
        }
      }
      log.events = log.events.slice(-retain);
    }
    return log;
  }

  append(input: AgentEventInput): AgentEvent {
    const event = { ...input, id: this.nextId++, at: new Date().toISOString() } as AgentEvent;
    this.events.push(event);
    if (this.events.length > this.retain) this.events.splice(0, this.events.length - this.retain);
    // Synchronous append keeps file order equal to id order without a write queue; events are rare and small.
    fs.appendFileSync(this.file, JSON.stringify(event) + "\n", { mode: 0o600 });
    if (++this.linesInFile > this.retain * 2) this.compact();
    for (const l of this.listeners) l(event);
    return event;
  }

  private compact(): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, this.events.map((e) => JSON.stringify(e) + "\n").join(""), { mode: 0o600 });
    fs.renameSync(tmp, this.file);
    this.linesInFile = this.events.length;
  }

  /** Events with id > since; `lost` when some of them were already dropped from the log. */
  since(since: number): { events: AgentEvent[]; lost: boolean; oldestAvailableId: number } {
    const oldest = this.events[0]?.id ?? this.nextId;
    return {
      events: this.events.filter((e) => e.id > since),
      lost: since < oldest - 1 && since < this.nextId - 1,
      oldestAvailableId: oldest,
    };
  }

  get lastId(): number {
    return this.nextId - 1;
  }

  subscribe(listener: (e: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
