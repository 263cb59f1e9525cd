import fs from "node:fs";
import path from "node:path";
import { expect, type Page } from "@playwright/test";

export type Role = "admin" | "operator" | "oncall" | "auditor";

export function credentials(role: Role): { email: string; password: string } {
  const file = path.join(process.env.E2E_LAB_DIR!, "e2e-credentials.json");
  const all = JSON.parse(fs.readFileSync(file, "utf8")) as Record<Role, { email: string; password: string }>;
  return all[role];
}

export function labDir(): string {
  return process.env.E2E_LAB_DIR!;
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

export async function signInAs(page: Page, role: Role): Promise<void> {
  const { email, password } = credentials(role);
  await signIn(page, email, password);
  await expect(page.getByTestId("current-role")).toHaveText(role);
}
