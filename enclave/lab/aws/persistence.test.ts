import { describe, expect, it } from "vitest";
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient, ListAliasesCommand } from "@aws-sdk/client-kms";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, GetLogEventsCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { labAwsClientConfig } from "./principals";
import { REGION, startEmulator, tempDir } from "./test-support";

describe("persistence", () => {
  it("keeps keys, aliases, CloudTrail events and log events across a restart with the same data folder", async () => {
    const dataDir = tempDir();
    const first = (await startEmulator({ dataDir })).emulator;
    const kms1 = new KMSClient({ ...labAwsClientConfig(first.endpoint, REGION, "admin"), maxAttempts: 1 });
    const key = await kms1.send(new CreateKeyCommand({}));
    await kms1.send(new CreateAliasCommand({ AliasName: "alias/persisted", TargetKeyId: key.KeyMetadata?.KeyId }));
    const sealed = await kms1.send(new EncryptCommand({ KeyId: "alias/persisted", Plaintext: Buffer.from("survives"), EncryptionContext: { v: "1" } }));
    const logs1 = new CloudWatchLogsClient({ ...labAwsClientConfig(first.endpoint, REGION, "admin"), maxAttempts: 1 });
    await logs1.send(new CreateLogGroupCommand({ logGroupName: "g" }));
    await logs1.send(new CreateLogStreamCommand({ logGroupName: "g", logStreamName: "s" }));
    await logs1.send(new PutLogEventsCommand({ logGroupName: "g", logStreamName: "s", logEvents: [{ timestamp: Date.now(), message: "kept" }] }));
    const eventsBefore = first.state.cloudTrailEventCount(REGION);
    await first.close();

    const second = (await startEmulator({ dataDir })).emulator;
    try {
      expect(second.state.cloudTrailEventCount(REGION)).toBe(eventsBefore);
      const kms2 = new KMSClient({ ...labAwsClientConfig(second.endpoint, REGION, "admin"), maxAttempts: 1 });
      const opened = await kms2.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { v: "1" } }));
      expect(Buffer.from(opened.Plaintext ?? []).toString()).toBe("survives");
      expect((await kms2.send(new ListAliasesCommand({}))).Aliases?.map((a) => a.AliasName)).toEqual(["alias/persisted"]);
      const trail = new CloudTrailClient({ ...labAwsClientConfig(second.endpoint, REGION, "console"), maxAttempts: 1 });
      const encrypts = await trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "Encrypt" }] }));
      expect(encrypts.Events).toHaveLength(1);
      const logs2 = new CloudWatchLogsClient({ ...labAwsClientConfig(second.endpoint, REGION, "console"), maxAttempts: 1 });
      const read = await logs2.send(new GetLogEventsCommand({ logGroupName: "g", logStreamName: "s", startFromHead: true }));
      expect(read.events?.map((e) => e.message)).toEqual(["kept"]);
    } finally {
      await second.close();
    }
  });
});
