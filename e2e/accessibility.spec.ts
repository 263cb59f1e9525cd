import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { signInAs } from "./support";

// Serious and critical WCAG A/AA violations fail the test; the console is read at 3 a.m. on a phone too.
async function violations(page: import("@playwright/test").Page) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  return results.violations.filter((violation) => violation.impact === "serious" || violation.impact === "critical").map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).slice(0, 3).join(", ")}`);
}

test("the sign-in page has no serious accessibility violations", async ({ page }) => {
  await page.goto("/sign-in");
  expect(await violations(page)).toEqual([]);
});

for (const path of ["/", "/enclaves", "/attestation", "/releases", "/audit", "/settings"]) {
  test(`${path} has no serious accessibility violations (dark and light)`, async ({ page }) => {
    await signInAs(page, "admin");
    await page.goto(path);
    expect(await violations(page)).toEqual([]);
    await page.getByTestId("theme-toggle").click();
    await page.reload();
    expect(await violations(page)).toEqual([]);
  });
}
