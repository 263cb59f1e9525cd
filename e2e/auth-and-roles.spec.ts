import { expect, test } from "@playwright/test";
import { credentials, signIn, signInAs, type Role } from "./support";

const ALL_SECTIONS = ["Overview", "Enclaves", "Attestation", "KMS keys", "Acra logs", "Alerts", "Operations", "Evidence", "Audit", "Settings"];
// What each role must see in the navigation (mirrors lib/auth/permissions.ts, written out so a change there is noticed).
const VISIBLE: Record<Role, string[]> = {
  admin: ALL_SECTIONS,
  operator: ALL_SECTIONS.filter((section) => section !== "Audit" && section !== "Settings"),
  oncall: ALL_SECTIONS.filter((section) => section !== "Audit" && section !== "Settings"),
  auditor: ALL_SECTIONS.filter((section) => section !== "Settings"),
};

test("anonymous visitors are sent to sign-in, for pages and for data", async ({ page, request }) => {
  for (const path of ["/", "/enclaves", "/audit", "/settings"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/sign-in$/);
  }
  await expect(page.getByRole("heading", { name: "Acra Nitro Console" })).toBeVisible();
  const session = await request.get("/api/auth/get-session");
  expect(await session.json()).toBeNull();
});

test("the sign-in form explains empty and wrong input next to the fields", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.locator("#email-error")).toHaveText("Enter your email");
  await expect(page.locator("#password-error")).toHaveText("Enter your password");
  await page.getByLabel("Email").fill("not-an-email");
  await page.getByLabel("Password").fill("whatever");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.locator("#email-error")).toHaveText("Enter a valid email address");
  await page.getByLabel("Email").fill(credentials("oncall").email);
  await page.getByLabel("Password").fill("definitely-not-the-password");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByTestId("form-error")).toHaveText("Email or password is incorrect.");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("password sign-in over Better Auth's own endpoint is refused (it would skip throttling and audit)", async ({ request }) => {
  const { email, password } = credentials("admin");
  const response = await request.post("/api/auth/sign-in/email", { data: { email, password } });
  expect(response.status()).toBe(404);
  expect(response.headers()["set-cookie"]).toBeUndefined();
});

for (const role of ["admin", "operator", "oncall", "auditor"] as Role[]) {
  test(`${role} signs in and sees exactly the sections the role allows`, async ({ page, context }) => {
    await signInAs(page, role);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
    await expect(page.getByTestId("current-user")).toContainText(credentials(role).email);
    const nav = page.getByRole("navigation", { name: "Sections" });
    await expect(nav.getByRole("link")).toHaveText(VISIBLE[role]);

    const cookie = (await context.cookies()).find((candidate) => candidate.name.includes("session_token"));
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Lax");

    // A hidden section is refused on the server too, not only left out of the menu.
    for (const hidden of ALL_SECTIONS.filter((section) => !VISIBLE[role].includes(section))) {
      const path = hidden === "Audit" ? "/audit" : "/settings";
      await page.goto(path);
      await expect(page.getByRole("heading", { name: "Not available to your role" })).toBeVisible();
    }
  });
}

test("sign-out ends the session on the server", async ({ page, context }) => {
  await signInAs(page, "oncall");
  const token = (await context.cookies()).find((cookie) => cookie.name.includes("session_token"))!;
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  // Replaying the old cookie does not bring the session back.
  await context.addCookies([token]);
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("the theme switch persists across reloads", async ({ page }) => {
  await signInAs(page, "auditor");
  const html = page.locator("html");
  const before = (await html.getAttribute("data-theme")) ?? "dark";
  await page.getByTestId("theme-toggle").click();
  const after = before === "dark" ? "light" : "dark";
  await expect(html).toHaveAttribute("data-theme", after);
  await page.reload();
  await expect(html).toHaveAttribute("data-theme", after);
  await expect(html).toHaveClass(after === "dark" ? /dark/ : /^$/);
});

test("admin creates a user; bad input changes nothing; the new user signs in; the audit trail shows it all", async ({ page, browser }) => {
  await signInAs(page, "admin");
  await page.goto("/settings");
  const table = page.getByTestId("users-table");
  const rowsBefore = await table.locator("tbody tr").count();

  await page.locator("#new-email").fill("not an email");
  await page.locator("#new-name").fill("");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.locator("#new-email-error")).toHaveText("Enter a valid email address");
  await expect(page.locator("#new-name-error")).toHaveText("Enter a name");
  await expect(page.locator("#new-role-error")).toHaveText("Choose a role");
  await expect(table.locator("tbody tr")).toHaveCount(rowsBefore);

  const email = `new-${Date.now()}@e2e.local`;
  await page.locator("#new-email").fill(email);
  await page.locator("#new-name").fill("New Auditor");
  await page.locator("#new-role").selectOption("auditor");
  await page.getByRole("button", { name: "Create user" }).click();
  const notice = page.getByTestId("new-user-password");
  await expect(notice).toContainText(email);
  const password = (await notice.locator("code").textContent())!.trim();
  expect(password.length).toBeGreaterThanOrEqual(20);
  await expect(table.locator("tbody tr")).toHaveCount(rowsBefore + 1);

  const other = await browser.newPage();
  await signIn(other, email, password);
  await expect(other.getByTestId("current-role")).toHaveText("auditor");
  await other.close();

  await page.goto(`/audit?action=users.create`);
  const audit = page.getByTestId("audit-table");
  await expect(audit.locator("tbody tr")).toHaveCount(2);
  await expect(audit).toContainText("invalid_input");
  await expect(audit).toContainText(`"email":"${email}"`);
  await page.goto(`/audit?actor=${encodeURIComponent(email)}&action=auth.sign_in`);
  await expect(page.getByTestId("audit-table").locator("tbody tr").first()).toContainText("success");
  await expect(page.getByTestId("chain-status")).toContainText("chain intact");
});

test("repeated failed sign-ins lock the account for a while, even with the right password, and are audited", async ({ page, browser }) => {
  await signInAs(page, "admin");
  await page.goto("/settings");
  const email = `locked-${Date.now()}@e2e.local`;
  await page.locator("#new-email").fill(email);
  await page.locator("#new-name").fill("Locked");
  await page.locator("#new-role").selectOption("oncall");
  await page.getByRole("button", { name: "Create user" }).click();
  const password = (await page.getByTestId("new-user-password").locator("code").textContent())!.trim();

  const visitor = await browser.newPage();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    await signIn(visitor, email, `wrong-password-${attempt}`);
    await expect(visitor.getByTestId("form-error")).toHaveText("Email or password is incorrect.");
  }
  await signIn(visitor, email, password);
  await expect(visitor.getByTestId("form-error")).toContainText("Too many failed sign-ins");
  await expect(visitor).toHaveURL(/\/sign-in$/);
  await visitor.close();

  await page.goto(`/audit?actor=${encodeURIComponent(email)}&action=auth.sign_in&outcome=denied`);
  await expect(page.getByTestId("audit-table").locator("tbody tr")).toHaveCount(1);
  await page.goto(`/audit?actor=${encodeURIComponent(email)}&action=auth.sign_in&outcome=failure`);
  await expect(page.getByTestId("audit-table").locator("tbody tr")).toHaveCount(5);
});
