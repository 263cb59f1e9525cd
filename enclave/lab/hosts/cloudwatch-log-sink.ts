/**
 * The lab's log sink for a simulated host: what the CloudWatch agent does on a real parent instance. Each enclave's
 * relayed lines (already carrying Enclaver's ` INFO  enclave         > ` prefix) go to their own log stream, named
 * after the enclave id, in the host's region. Loaded by the agent through its config:
 *   "logSink": { "kind": "module", "module": "<abs path of this file>", "options": { endpoint, region, logGroupName } }
 */
import { z } from "zod";
import { createLogShipper, type LogShipper } from "@/enclave/lab/acra-sim/log-shipper";
import { LAB_CREDENTIALS } from "@/enclave/lab/aws/principals";

export const cloudWatchLogSinkOptionsSchema = z.object({
  endpoint: z.string().url(),
  region: z.string().min(1),
  logGroupName: z.string().min(1),
  accessKeyId: z.string().default(LAB_CREDENTIALS.enclave.accessKeyId),
  secretAccessKey: z.string().default(LAB_CREDENTIALS.enclave.secretAccessKey),
  flushIntervalMs: z.number().int().positive().default(1000),
});
export type CloudWatchLogSinkOptions = z.input<typeof cloudWatchLogSinkOptionsSchema>;

export type ClosableLogSink = ((enclaveId: string, line: string) => void) & { close(): Promise<void> };

export function createLogSink(rawOptions: unknown): ClosableLogSink {
  const options = cloudWatchLogSinkOptionsSchema.parse(rawOptions);
  const shippers = new Map<string, LogShipper>();
  const sink = (enclaveId: string, line: string) => {
    let shipper = shippers.get(enclaveId);
    if (!shipper) {
      shipper = createLogShipper({
        endpoint: options.endpoint,
        region: options.region,
        credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
        logGroupName: options.logGroupName,
        logStreamName: enclaveId,
        flushIntervalMs: options.flushIntervalMs,
      });
      shippers.set(enclaveId, shipper);
    }
    shipper.push(line);
  };
  return Object.assign(sink, {
    async close() {
      await Promise.all([...shippers.values()].map((s) => s.close()));
    },
  });
}
