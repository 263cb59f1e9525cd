-- DropIndex
DROP INDEX "Release_pcr0_idx";

-- DropIndex
DROP INDEX "PolicyVersion_hash_key";

-- AlterTable
ALTER TABLE "AttestationResult" ADD COLUMN "rootKind" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Release_pcr0_key" ON "Release"("pcr0");

-- CreateIndex
CREATE INDEX "PolicyVersion_hash_idx" ON "PolicyVersion"("hash");

-- CreateIndex
CREATE INDEX "AttestationDocument_firstSeenAt_idx" ON "AttestationDocument"("firstSeenAt");

-- CreateIndex
CREATE INDEX "AttestationResult_docSha256_idx" ON "AttestationResult"("docSha256");

