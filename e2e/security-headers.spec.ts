import { expect, test } from "@playwright/test";

test.describe("security headers", () => {
  test("every response carries the CSP with a fresh nonce and the static headers", async ({ request }) => {
    const first = await request.get("/sign-in");
    const second = await request.get("/sign-in");
    for (const response of [first, second]) {
      const headers = response.headers();
      expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(headers["content-security-policy"]).toContain("object-src 'none'");
      expect(headers["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{16,}' 'strict-dynamic'/);
      expect(headers["content-security-policy"]).not.toContain("unsafe-eval");
      expect(headers["x-content-type-options"]).toBe("nosniff");
      expect(headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
      expect(headers["x-frame-options"]).toBe("DENY");
      expect(headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
      // HSTS is for real hosts only: on localhost it would pin the developer's browser to https.
      expect(headers["strict-transport-security"]).toBeUndefined();
    }
    const nonceOf = (csp: string) => /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonceOf(first.headers()["content-security-policy"]!)).not.toBe(nonceOf(second.headers()["content-security-policy"]!));

    const health = await request.get("/api/health");
    expect(health.headers()["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(health.headers()["x-content-type-options"]).toBe("nosniff");
  });

  test("HSTS is sent when the console is reached under a real host name", async ({ request }) => {
    const response = await request.get("/api/health", { headers: { host: "console.example.com" } });
    expect(response.headers()["strict-transport-security"]).toBe("max-age=63072000; includeSubDomains");
    expect(response.headers()["content-security-policy"]).toContain("upgrade-insecure-requests");
  });

  test("every script in the page carries the request's nonce", async ({ request }) => {
    const response = await request.get("/sign-in");
    const nonce = /'nonce-([^']+)'/.exec(response.headers()["content-security-policy"]!)![1];
    const html = await response.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
  });

  test("an inline script without the nonce does not run", async ({ page }) => {
    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    // Simulate an injection into server-rendered HTML (stored XSS): the real response, headers untouched, with a
    // script element added to the markup that does not carry the nonce.
    await page.route("**/sign-in", async (route) => {
      const response = await route.fetch();
      const html = (await response.text()).replace("<body", '<script>window.__injected = true;</script><body');
      await route.fulfill({ response, body: html });
    });
    await page.goto("/sign-in");
    // The page's own (nonced) scripts ran: React hydrated the form...
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeEnabled();
    await page.getByLabel("Email").fill("x");
    // ...and the injected one did not.
    expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected === true)).toBe(false);
    await expect.poll(() => violations.length).toBeGreaterThan(0);
  });
});
