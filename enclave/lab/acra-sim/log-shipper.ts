/**
 * Plays the CloudWatch agent on a lab host: takes log lines (already prefixed by whoever relays them) and ships them
 * to CloudWatch Logs with PutLogEvents through the real AWS SDK.
 *
 * Guarantees: lines reach CloudWatch in push order, one PutLogEvents in flight at a time; a failed batch is retried
 * with backoff and is removed from the queue only once it was accepted, so throttling neither loses nor duplicates
 * lines (a request that timed out after AWS stored it can still repeat, exactly as with the real agent: PutLogEvents
 * has no idempotency token). Batches respect AWS limits: at most 10,000 events and 1,048,576 bytes (message bytes + 26
 * per event), chronological, spanning at most 24 h. Memory is bounded: past `maxQueuedEvents` the oldest lines not in
 * flight are dropped and counted, with a warning.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  type InputLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";

export interface LogShipperOptions {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  logGroupName: string;
  logStreamName: string;
  /** How often queued lines are sent. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Events per PutLogEvents (AWS maximum and default 10,000). Reaching it also triggers a send. */
  maxBatch?: number;
  /** Bytes per PutLogEvents as AWS counts them (AWS maximum and default 1,048,576). */
  maxBatchBytes?: number;
  /** Queue cap; past it the oldest lines are dropped. Default 100,000. */
  maxQueuedEvents?: number;
  /** Backoff after a failed send: base doubles per attempt up to max, with jitter. Defaults 200 / 5000 ms. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** close() waits this long for the last lines before giving up on them (counted as dropped). Default 10,000 ms. */
  closeTimeoutMs?: number;
  /** Where warnings go (drops, rejected events, retries). Default: stderr. */
  onWarning?: (message: string) => void;
}

export interface LogShipperStats {
  queued: number;
  sent: number;
  dropped: number;
  rejected: number;
  retries: number;
  batches: number;
}

export interface LogShipper {
  push(line: string, timestampMs?: number): void;
  /** Resolves once every line pushed before the call was accepted by CloudWatch (or dropped/rejected). */
  flush(): Promise<void>;
  /** Flushes (bounded by closeTimeoutMs), stops the timer and releases the client. */
  close(): Promise<void>;
  stats(): LogShipperStats;
}

/** AWS: each event costs its UTF-8 message length plus 26 bytes. */
export const CLOUDWATCH_EVENT_OVERHEAD_BYTES = 26;
export const CLOUDWATCH_MAX_BATCH_EVENTS = 10_000;
export const CLOUDWATCH_MAX_BATCH_BYTES = 1_048_576;
/** Kept under the 256 KiB event limit CloudWatch applied for years (Enclaver cuts lines at 4 KiB anyway). */
export const CLOUDWATCH_MAX_EVENT_BYTES = 256 * 1024 - CLOUDWATCH_EVENT_OVERHEAD_BYTES;
const MAX_BATCH_SPAN_MS = 24 * 60 * 60 * 1000;

interface QueuedEvent {
  message: string;
  timestamp: number;
  bytes: number;
}

function truncateUtf8(message: string, maxBytes: number): string {
  const bytes = Buffer.from(message, "utf8");
  if (bytes.length <= maxBytes) return message;
  // Cutting inside a multi-byte character leaves a replacement character at the end: drop it.
  return bytes.subarray(0, maxBytes).toString("utf8").replace(/\uFFFD$/, "");
}

function errorName(error: unknown): string {
  const e = error as { name?: string; __type?: string; Code?: string };
  return e?.name ?? e?.__type ?? e?.Code ?? "Error";
}

export function createLogShipper(options: LogShipperOptions): LogShipper {
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const maxBatch = Math.min(Math.max(1, options.maxBatch ?? CLOUDWATCH_MAX_BATCH_EVENTS), CLOUDWATCH_MAX_BATCH_EVENTS);
  const maxBatchBytes = Math.min(options.maxBatchBytes ?? CLOUDWATCH_MAX_BATCH_BYTES, CLOUDWATCH_MAX_BATCH_BYTES);
  const maxQueued = Math.max(maxBatch, options.maxQueuedEvents ?? 100_000);
  const retryBaseMs = options.retryBaseMs ?? 200;
  const retryMaxMs = options.retryMaxMs ?? 5000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const warn = options.onWarning ?? ((message: string) => process.stderr.write(`[log-shipper] ${message}\n`));

  const client = new CloudWatchLogsClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
    // Our own loop retries without ever dropping the batch; SDK retries on top would only blur the backoff.
    maxAttempts: 1,
    requestHandler: { requestTimeout: 15_000, connectionTimeout: 3000 },
  });

  const queue: QueuedEvent[] = [];
  let inFlight = 0; // events at the head of the queue that are part of the request under way
  let lastTimestamp = 0;
  let pushedTotal = 0; // events ever accepted into the queue
  let settledTotal = 0; // events removed from the queue: sent, rejected or dropped
  let resourcesReady = false;
  let pumping = false;
  let closed = false;
  let abandoned = false;
  let droppedSinceWarning = 0;
  const stats: LogShipperStats = { queued: 0, sent: 0, dropped: 0, rejected: 0, retries: 0, batches: 0 };
  const waiters: { target: number; resolve: () => void }[] = [];
  let wakeSleeper: (() => void) | null = null;

  const timer = setInterval(() => void pump(), flushIntervalMs);
  timer.unref();

  function settle(count: number): void {
    settledTotal += count;
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const waiter = waiters[i] as (typeof waiters)[number];
      if (settledTotal >= waiter.target || abandoned) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  function push(line: string, timestampMs?: number): void {
    if (closed) {
      stats.dropped += 1;
      return;
    }
    // CloudWatch rejects empty messages; an empty line carries nothing (the CloudWatch agent skips them too).
    if (line.length === 0) return;
    const message = truncateUtf8(line, CLOUDWATCH_MAX_EVENT_BYTES);
    // A batch must be chronological: a line never goes before the one pushed ahead of it.
    const timestamp = Math.max(Math.floor(timestampMs ?? Date.now()), lastTimestamp);
    lastTimestamp = timestamp;
    queue.push({ message, timestamp, bytes: Buffer.byteLength(message, "utf8") + CLOUDWATCH_EVENT_OVERHEAD_BYTES });
    pushedTotal += 1;
    if (queue.length > maxQueued) {
      // Drop the oldest line that is not part of the request under way.
      queue.splice(inFlight, 1);
      stats.dropped += 1;
      droppedSinceWarning += 1;
      if (droppedSinceWarning === 1 || droppedSinceWarning % 1000 === 0) {
        warn(`queue full (${maxQueued} lines): dropped the oldest line(s), ${stats.dropped} dropped so far`);
      }
      settle(1);
    }
    if (queue.length - inFlight >= maxBatch) void pump();
  }

  function nextBatchSize(): number {
    let count = 0;
    let bytes = 0;
    const first = queue[0];
    if (!first) return 0;
    for (const event of queue) {
      if (count >= maxBatch || bytes + event.bytes > maxBatchBytes || event.timestamp - first.timestamp > MAX_BATCH_SPAN_MS) break;
      count += 1;
      bytes += event.bytes;
    }
    return count;
  }

  async function ensureResources(): Promise<void> {
    if (resourcesReady) return;
    for (const command of [
      new CreateLogGroupCommand({ logGroupName: options.logGroupName }),
      new CreateLogStreamCommand({ logGroupName: options.logGroupName, logStreamName: options.logStreamName }),
    ]) {
      try {
        await client.send(command as CreateLogGroupCommand);
      } catch (error) {
        if (errorName(error) !== "ResourceAlreadyExistsException") throw error;
      }
    }
    resourcesReady = true;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        wakeSleeper = null;
        resolve();
      }, ms);
      wakeSleeper = () => {
        clearTimeout(t);
        wakeSleeper = null;
        resolve();
      };
    });
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    let attempt = 0;
    try {
      while (queue.length > 0 && !abandoned) {
        const size = nextBatchSize();
        inFlight = size;
        const logEvents: InputLogEvent[] = queue.slice(0, size).map((e) => ({ message: e.message, timestamp: e.timestamp }));
        try {
          await ensureResources();
          const result = await client.send(
            new PutLogEventsCommand({ logGroupName: options.logGroupName, logStreamName: options.logStreamName, logEvents }),
          );
          const info = result.rejectedLogEventsInfo;
          if (info) {
            const rejected =
              (info.tooOldLogEventEndIndex !== undefined ? info.tooOldLogEventEndIndex + 1 : 0) +
              (info.expiredLogEventEndIndex !== undefined ? info.expiredLogEventEndIndex + 1 : 0) +
              (info.tooNewLogEventStartIndex !== undefined ? size - info.tooNewLogEventStartIndex : 0);
            const counted = Math.min(size, rejected);
            stats.rejected += counted;
            warn(`CloudWatch rejected ${counted} event(s) of a batch of ${size}: ${JSON.stringify(info)}`);
            stats.sent += size - counted;
          } else {
            stats.sent += size;
          }
          stats.batches += 1;
          queue.splice(0, size);
          inFlight = 0;
          attempt = 0;
          settle(size);
        } catch (error) {
          inFlight = 0;
          const name = errorName(error);
          if (name === "DataAlreadyAcceptedException") {
            // AWS already stored this exact batch: sending it again would duplicate it.
            queue.splice(0, size);
            stats.sent += size;
            settle(size);
            continue;
          }
          if (name === "InvalidParameterException" || name === "ValidationException") {
            // The batch itself is unacceptable (retrying cannot help): account for it instead of looping forever.
            queue.splice(0, size);
            stats.rejected += size;
            warn(`CloudWatch refused a batch of ${size} event(s): ${name}: ${(error as Error).message}`);
            settle(size);
            continue;
          }
          if (name === "ResourceNotFoundException") resourcesReady = false;
          attempt += 1;
          stats.retries += 1;
          const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
          if (attempt === 1 || attempt % 10 === 0) warn(`PutLogEvents failed (${name}), retry ${attempt} in ~${backoff} ms`);
          await sleep(backoff / 2 + Math.random() * (backoff / 2));
        }
      }
    } finally {
      pumping = false;
    }
  }

  function flush(): Promise<void> {
    if (settledTotal >= pushedTotal || abandoned) return Promise.resolve();
    const done = new Promise<void>((resolve) => waiters.push({ target: pushedTotal, resolve }));
    void pump();
    return done;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timeout = setTimeout(() => resolve("timeout"), closeTimeoutMs);
    });
    const outcome = await Promise.race([flush().then(() => "flushed" as const), timedOut]);
    clearTimeout(timeout);
    if (outcome === "timeout") {
      abandoned = true;
      const lost = queue.length;
      stats.dropped += lost;
      queue.length = 0;
      warn(`close: gave up on ${lost} unsent line(s) after ${closeTimeoutMs} ms`);
      wakeSleeper?.();
      settle(lost);
    }
    client.destroy();
  }

  return {
    push,
    flush,
    close,
    stats: () => ({ ...stats, queued: queue.length }),
  };
}
