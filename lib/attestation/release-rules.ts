/**
 * Rules of the release registry (pure, no I/O): what a valid import looks like, and who may approve or revoke.
 * The import schema runs the build output through parseBuildOutput, so the form's field errors are exactly the
 * verifier's own complaints (e.g. "Measurements.PCR1: expected 96 hex characters"), and a release can only ever
 * carry the measurements a reproducible build printed.
 */
import { z } from "zod";
import { parseBuildOutput, type BuildOutputSource, type ReleaseMeasurements } from "./release";

export const RELEASE_STATUSES = ["pending", "approved", "revoked"] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Upper bound of pasted/uploaded build output; real outputs are well under 4 KiB. */
export const MAX_BUILD_OUTPUT_CHARS = 64 * 1024;

export const releaseImportSchema = z
  .object({
    name: z
      .string({ message: "Enter the release name" })
      .trim()
      .min(1, "Enter the release name")
      .max(64, "At most 64 characters")
      .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, "Letters, digits, '.', '_', '-' and '/' only"),
    version: z
      .string({ message: "Enter the version" })
      .trim()
      .min(1, "Enter the version")
      .max(64, "At most 64 characters")
      .regex(/^[A-Za-z0-9][A-Za-z0-9.+_-]*$/, "Letters, digits, '.', '+', '_' and '-' only"),
    sourceCommit: z
      .string()
      .trim()
      .toLowerCase()
      .max(64)
      .refine((value) => value === "" || /^[0-9a-f]{7,64}$/.test(value), "A git commit: 7 to 64 hex characters (or leave it empty)")
      .default(""),
    buildOutput: z
      .string({ message: "Paste or upload the build output" })
      .min(1, "Paste or upload the build output")
      .max(MAX_BUILD_OUTPUT_CHARS, `At most ${MAX_BUILD_OUTPUT_CHARS} characters`),
  })
  .transform((input, ctx) => {
    const parsed = parseBuildOutput(input.buildOutput);
    if (!parsed.ok) {
      for (const message of parsed.errors) ctx.addIssue({ code: "custom", path: ["buildOutput"], message });
      return z.NEVER;
    }
    return { name: input.name, version: input.version, sourceCommit: input.sourceCommit, measurements: parsed.measurements, source: parsed.source };
  });

export type ReleaseImportInput = z.input<typeof releaseImportSchema>;
export interface ReleaseImport {
  name: string;
  version: string;
  sourceCommit: string;
  measurements: ReleaseMeasurements;
  source: BuildOutputSource;
}

export const releaseIdSchema = z.object({ releaseId: z.string().min(1).max(64) });

export const revokeReleaseSchema = releaseIdSchema.extend({
  reason: z.string({ message: "Say why" }).trim().min(3, "Say why the release is revoked (at least 3 characters)").max(500, "At most 500 characters"),
});

export interface ReleaseForRules {
  status: string;
  createdBy: string;
}

/** Why `actor` may not approve this release, or null when they may. Emails compare case-insensitively. */
export function approvalProblem(release: ReleaseForRules, actor: string, requireSecondApprover: boolean): string | null {
  if (release.status === "approved") return "This release is already approved.";
  if (release.status === "revoked") return "A revoked release cannot be approved again; import a new version.";
  if (release.status !== "pending") return `A release in state ${release.status} cannot be approved.`;
  if (requireSecondApprover && release.createdBy.toLowerCase() === actor.toLowerCase()) {
    return "A second person must approve this release: you imported it.";
  }
  return null;
}

/** Why this release cannot be revoked, or null. Pending releases can be revoked too (withdrawn before approval). */
export function revocationProblem(release: ReleaseForRules): string | null {
  return release.status === "revoked" ? "This release is already revoked." : null;
}
