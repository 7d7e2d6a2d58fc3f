// Single sign-on in Chromium: the sign-in page offers "Sign in with Test IdP"; the provider
// (npm oidc-provider, started by the test) signs alice in without a form and sends the browser
// back; the portal shows her roles. Run by tests/it/process/sso.rs.
import { BASE, browser, step, log } from "./lib.mjs";

const page = await browser.newPage();
try {
  await step("the sign-in page offers single sign-on", async () => {
    await page.goto(`${BASE}/portal/sign-in`);
    await page.getByRole("link", { name: "Sign in with Test IdP" }).waitFor();
  });
  await step("the provider signs alice in and sends her back", async () => {
    await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
    await page.waitForURL(/\/portal\/roles/, { timeout: 20000 });
    const body = await page.textContent("body");
    if (!body.includes("Alice")) throw new Error(`not signed in as Alice: ${body.slice(0, 400)}`);
  });
  log("sso walk done");
  await browser.close();
} catch (e) {
  console.error(`SSO walk failed at ${page.url()}: ${e.stack || e}`);
  await browser.close();
  process.exit(1);
}
