import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page, type Request } from "@playwright/test";
import { signInAs } from "./support";

/**
 * The releases registry through the browser, against the lab (no running host needed): a bad PCR is explained next
 * to the build output and stores nothing; a real nitro-cli output imports; an operator approves and revokes behind
 * confirmation dialogs; an auditor sees no such buttons, and the server refuses the auditor's replay of the very
 * request the operator's browser sent.
 */
const NITRO_CLI = path.join(__dirname, "..", "test", "vectors", "attestation", "nitro-cli");
const run = Date.now().toString(36);

function buildOutput(pcr0: string): string {
  const json = JSON.parse(fs.readFileSync(path.join(NITRO_CLI, "nitro-cli-build-enclave-awsdocs.json"), "utf8")) as { Measurements: Record<string, string> };
  json.Measurements.PCR0 = pcr0;
  return JSON.stringify(json, null, 2);
}

async function importRelease(page: Page, name: string, version: string, output: string) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Version", { exact: true }).fill(version);
  await page.getByLabel("Build output").fill(output);
  await page.getByRole("button", { name: "Import release" }).click();
}

const row = (page: Page, label: string) => page.getByTestId("releases-table").locator(`tr[data-release="${label}"]`);

test("releases: field errors, import, approve, auditor refused, revoke", async ({ page, browser, baseURL }) => {
  await signInAs(page, "operator");
  await page.goto("/attestation");
  await page.getByRole("link", { name: "Releases" }).click();
  await expect(page).toHaveURL(/\/releases$/);
  await expect(page.getByRole("heading", { name: "Releases", exact: true })).toBeVisible();

  // A PCR that is not 96 hex characters: the verifier's message appears under the build output and nothing is stored.
  const badName = `bad-${run}`;
  const bad = JSON.stringify({ Measurements: { HashAlgorithm: "Sha384 { ... }", PCR0: "ab".repeat(48), PCR1: "ab".repeat(47), PCR2: "cd".repeat(48) } });
  await importRelease(page, badName, "1.0.0", bad);
  await expect(page.locator("#release-build-output-error")).toContainText("Measurements.PCR1: expected 96 hex characters");
  await expect(page.getByLabel("Build output")).toHaveAttribute("aria-invalid", "true");
  await page.reload();
  await expect(page.locator(`tr[data-release^="${badName}"]`)).toHaveCount(0);

  // The nitro-cli build-enclave output from the AWS documentation, imported as printed.
  const pcr0 = randomBytes(48).toString("hex");
  const first = `acra-server-${run} 0.96.0-1`;
  await importRelease(page, `acra-server-${run}`, "0.96.0-1", buildOutput(pcr0));
  await expect(page.getByTestId("import-ok")).toContainText(`Imported acra-server-${run} 0.96.0-1 from nitro-cli build-enclave output`);
  await expect(row(page, first)).toContainText("pending");
  await expect(row(page, first)).toContainText(pcr0);

  // The same image again under another version is refused.
  await importRelease(page, `acra-server-${run}`, "0.96.0-2", buildOutput(pcr0));
  await expect(page.getByTestId("form-error")).toContainText(`This PCR0 is already registered as acra-server-${run} 0.96.0-1 (pending).`);

  // A second pending release, for the auditor's attempt below.
  const secondPcr0 = randomBytes(48).toString("hex");
  const second = `acra-server-${run} 0.97.0`;
  await importRelease(page, `acra-server-${run}`, "0.97.0", buildOutput(secondPcr0));
  await expect(row(page, second)).toContainText("pending");

  // Approve behind a confirmation dialog; capture the request the browser sends.
  let approveRequest: Request | null = null;
  page.on("request", (request) => {
    if (request.method() === "POST" && request.headers()["next-action"] && request.postData()?.includes("releaseId")) approveRequest ??= request;
  });
  await row(page, first).getByRole("button", { name: "Approve" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toContainText(`Approve ${first}?`);
  await expect(dialog).toContainText(pcr0);
  await dialog.getByRole("button", { name: "Confirm approval" }).click();
  await expect(dialog).toBeHidden();
  await expect(row(page, first)).toContainText("approved");
  await expect(row(page, first)).toContainText("approved by operator@e2e.local");
  expect(approveRequest).not.toBeNull();
  const captured = approveRequest as unknown as Request;
  const secondId = await row(page, second).getAttribute("data-release-id");
  expect(secondId).toBeTruthy();

  // The auditor: read-only page, no import form, no approve button...
  const auditorContext = await browser.newContext({ baseURL });
  const auditor = await auditorContext.newPage();
  await signInAs(auditor, "auditor");
  await auditor.goto("/releases");
  await expect(row(auditor, second)).toContainText("pending");
  await expect(auditor.getByRole("button", { name: "Approve" })).toHaveCount(0);
  await expect(auditor.getByRole("button", { name: "Revoke" })).toHaveCount(0);
  await expect(auditor.getByRole("button", { name: "Import release" })).toHaveCount(0);
  // ...and the server refuses the operator's approve request replayed with the auditor's session for release 2.
  const headers = captured.headers();
  const replay = await auditor.request.post(captured.url(), {
    headers: { "next-action": headers["next-action"]!, "content-type": headers["content-type"] ?? "text/plain;charset=UTF-8", accept: "text/x-component", origin: new URL(captured.url()).origin },
    data: JSON.stringify([{ releaseId: secondId }]),
  });
  expect(await replay.text()).toContain("Your role does not allow this (releases.approve).");
  await auditor.reload();
  await expect(row(auditor, second)).toContainText("pending");
  await auditorContext.close();

  // Revoke, with a reason the dialog insists on.
  await page.reload();
  await row(page, first).getByRole("button", { name: "Revoke" }).click();
  await expect(dialog).toContainText(`Revoke ${first}?`);
  await dialog.getByRole("button", { name: "Confirm revocation" }).click();
  await expect(dialog.getByRole("alert").first()).toContainText("Say why the release is revoked");
  await dialog.getByLabel("Reason").fill("base image CVE, rebuilt as 0.96.0-3");
  await dialog.getByRole("button", { name: "Confirm revocation" }).click();
  await expect(dialog).toBeHidden();
  await expect(row(page, first)).toContainText("revoked");
  await expect(row(page, first)).toContainText("base image CVE, rebuilt as 0.96.0-3");
  await expect(row(page, first).getByRole("button", { name: "Revoke" })).toHaveCount(0);
});

test("the attestation overview links to releases and keeps its filters in the URL", async ({ page }) => {
  await signInAs(page, "auditor");
  await page.goto("/attestation?state=untrusted");
  await expect(page.getByRole("heading", { name: "Attestation", exact: true })).toBeVisible();
  await expect(page.getByLabel("Attestation state")).toHaveValue("untrusted");
  await expect(page.getByRole("button", { name: "Attest fleet now" })).toHaveCount(0);
  await page.getByLabel("Attestation state").selectOption("trusted");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/state=trusted/);
  await page.goto("/attestation/policy");
  await expect(page.getByRole("heading", { name: "Attestation policy" })).toBeVisible();
  await expect(page.getByText("changing it needs the policy.manage permission")).toBeVisible();
});

test("with the second-approver rule on, the importer cannot approve and another person can", async ({ page, browser, baseURL }) => {
  await signInAs(page, "admin");
  await page.goto("/attestation/policy");
  const toggle = page.getByLabel("Require a second person to approve a release (the importer cannot approve their own)");
  await toggle.check();
  await expect(page.getByText("Saved.")).toBeVisible();
  await page.goto("/releases");
  await expect(page.getByTestId("second-approver")).toHaveText("A second person must approve each release.");

  const operatorContext = await browser.newContext({ baseURL });
  const operator = await operatorContext.newPage();
  await signInAs(operator, "operator");
  await operator.goto("/releases");
  const label = `acra-server-${run} 2.0.0`;
  await importRelease(operator, `acra-server-${run}`, "2.0.0", buildOutput(randomBytes(48).toString("hex")));
  await expect(row(operator, label)).toContainText("pending");
  await expect(row(operator, label).getByRole("button", { name: "Approve" })).toBeDisabled();
  await expect(row(operator, label)).toContainText("A second person must approve this release: you imported it.");
  await operatorContext.close();

  await page.reload();
  await row(page, label).getByRole("button", { name: "Approve" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Confirm approval" }).click();
  await expect(row(page, label)).toContainText("approved by admin@e2e.local");

  // Back to the default for whatever runs next in this lab.
  await page.goto("/attestation/policy");
  await toggle.uncheck();
  await expect(page.getByText("Saved.")).toBeVisible();
  await page.goto("/releases");
  await expect(page.getByTestId("second-approver")).toHaveText("The importer may approve their own release.");
});
