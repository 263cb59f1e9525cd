import { expect, test } from "@playwright/test";
import { labCli } from "./lab-cli";
import { signInAs } from "./support";

// Runs after every other spec (see playwright.config.ts projects): it breaks the lab's fleet on purpose.

test("the simulated fleet is healthy, a crashed enclave goes red, a stopped agent marks its host unreachable", async ({ page }) => {
  test.setTimeout(180_000);
  const status = JSON.parse(labCli("status", "--json")) as {
    console: { url: string };
    aws: { endpoint: string };
    hosts: { id: string; region: string; agent: string; enclaves: { id: string; state: string; attestation: string }[] }[];
  };
  expect(status.hosts.map((host) => host.id)).toEqual(["lab-euw1-a", "lab-use1-a", "lab-use1-b"]);
  expect(status.aws.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

  await signInAs(page, "oncall");
  await expect(page.getByTestId("lab-banner")).toContainText("LAB TRUST");
  const map = page.getByTestId("fleet-map");
  for (const host of ["lab-use1-a", "lab-use1-b", "lab-euw1-a"]) {
    const card = map.getByTestId(`host-${host}`);
    await expect(async () => {
      await page.reload();
      await expect(card).toContainText("up", { timeout: 1000 });
      await expect(card).toContainText("running", { timeout: 1000 });
      await expect(card).toContainText("acra up", { timeout: 1000 });
    }).toPass({ timeout: 60_000 });
  }
  await expect(page.getByRole("heading", { name: "us-east-1" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "eu-west-1" })).toBeVisible();

  // Crash the enclave on lab-use1-b: the console shows it terminated, with a critical event.
  expect(labCli("crash-enclave", "--host", "lab-use1-b")).toContain("killed");
  const crashed = map.getByTestId("host-lab-use1-b");
  await expect(async () => {
    await page.reload();
    await expect(crashed).toContainText("terminated", { timeout: 1000 });
    await expect(crashed).toContainText("acra down", { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.getByText(/exited unexpectedly/).first()).toBeVisible();

  // Stop the agent on lab-euw1-a: that host is unreachable, with its last-seen time; the rest keeps working.
  expect(labCli("stop-agent", "--host", "lab-euw1-a")).toContain("stopped");
  const stopped = map.getByTestId("host-lab-euw1-a");
  await expect(async () => {
    await page.reload();
    await expect(stopped).toContainText("unreachable", { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(stopped).toContainText(/seen \d+s ago/);
  await expect(map.getByTestId("host-lab-use1-a")).toContainText("acra up");

  await page.goto("/hosts/lab-euw1-a");
  await expect(page.getByTestId("host-error")).toContainText("agent unreachable");
  await page.goto("/enclaves");
  await expect(page.getByTestId("enclaves-table").locator("tbody tr")).toHaveCount(3);

  const after = JSON.parse(labCli("status", "--json")) as typeof status;
  expect(after.hosts.find((host) => host.id === "lab-euw1-a")?.agent).toBe("down");
  expect(after.hosts.find((host) => host.id === "lab-use1-b")?.enclaves[0]?.state).toBe("TERMINATED");

  // The agent comes back with the same pinned certificate, and the host is reachable again.
  expect(labCli("start-agent", "--host", "lab-euw1-a")).toContain("started");
  await page.goto("/");
  await expect(async () => {
    await page.reload();
    await expect(stopped).toContainText("up", { timeout: 1000 });
    await expect(stopped).not.toContainText("unreachable", { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
});
