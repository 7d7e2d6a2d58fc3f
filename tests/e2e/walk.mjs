// The seed scenarios of docs/scenarios.md walked in a real Chromium against a real
// `eligo serve --demo` (started by tests/it/portal/e2e.rs, which passes ELIGO_URL):
//   (a) alice signs in, enrols TOTP, activates Helpdesk Administrator and deactivates it;
//   (b) carol requests Global Administrator, ada approves it on the Approvals page, carol sees
//       it active and deactivates it;
//   (c) ada changes a role setting and finds the change in the audit log.
// Screenshots of the main pages go to SHOTS (a folder) when set.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { totp } from "./totp.mjs";

const BASE = process.env.ELIGO_URL;
const SHOTS = process.env.SHOTS || "";
const PASSWORD = "Eligo-demo-2026!";
const HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
if (!BASE) throw new Error("ELIGO_URL is not set");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});

let current = "start";
const log = (m) => console.log(`[e2e] ${m}`);
async function step(name, fn) {
  current = name;
  const t0 = Date.now();
  await fn();
  log(`ok  ${name} (${Date.now() - t0} ms)`);
}
async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
async function expectText(page, text) {
  await page.getByText(text, { exact: false }).first().waitFor({ timeout: 10000 });
}
// Every page: no console errors (a CSP violation shows there), and the page is ours.
function watch(page, who) {
  page.on("console", (m) => {
    if (m.type() === "error") {
      console.log(`[e2e] console error (${who}): ${m.text()}`);
      process.exitCode = 1;
    }
  });
  page.on("pageerror", (e) => {
    console.log(`[e2e] page error (${who}): ${e.message}`);
    process.exitCode = 1;
  });
}
async function person(who) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  // Consequential buttons ask "are you sure?" (data-confirm): a person says yes.
  page.on("dialog", (d) => d.accept());
  watch(page, who);
  return { context, page };
}
async function signIn(page, user, code) {
  await page.goto(`${BASE}/portal/sign-in`);
  await page.getByLabel("User name").fill(`${user}@contoso.example`);
  await page.getByLabel("Password").fill(PASSWORD);
  if (code) await page.getByLabel("Authenticator code").fill(code);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/portal/sign-in"));
}
async function enrol(page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security info" }).click();
  await page.getByRole("button", { name: "Set up authenticator" }).click();
  await page.locator("figure.qr svg").waitFor();
  const secret = await page.locator("#totp-secret").getAttribute("data-secret");
  await page.getByLabel("Six-digit code").fill(totp(secret));
  await page.getByRole("button", { name: "Verify and finish" }).click();
  await expectText(page, "Your authenticator is set up");
  return secret;
}

try {
  // (a) activation without approval
  const a = await person("alice");
  await step("a: the sign-in page", async () => {
    await a.page.goto(`${BASE}/portal/roles`);
    await a.page.waitForURL(/\/portal\/sign-in/);
    await shot(a.page, "sign-in");
  });
  await step("a: alice signs in with her password", async () => {
    await signIn(a.page, "alice");
  });
  await step("a: alice enrols an authenticator from its QR code", async () => {
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security info" }).click();
    await a.page.getByRole("button", { name: "Set up authenticator" }).click();
    await a.page.locator("figure.qr svg").waitFor();
    await shot(a.page, "enrol-authenticator");
    const secret = await a.page.locator("#totp-secret").getAttribute("data-secret");
    await a.page.getByLabel("Six-digit code").fill(totp(secret));
    await a.page.getByRole("button", { name: "Verify and finish" }).click();
    await expectText(a.page, "Your authenticator is set up");
  });
  await step("a: alice activates Helpdesk Administrator", async () => {
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    await expectText(a.page, "Helpdesk Administrator");
    await shot(a.page, "my-roles-eligible");
    await a.page.getByRole("row", { name: /Helpdesk Administrator/ })
      .getByRole("link", { name: /Activate/ }).first().click();
    await a.page.getByLabel(/Justification/).fill("Password resets for the Monday queue");
    await shot(a.page, "activate");
    await a.page.locator("main form").getByRole("button", { name: /Activate/ }).click();
    await expectText(a.page, "is active until");
    await a.page.locator("time[data-countdown] + .countdown").first().waitFor();
    await shot(a.page, "my-roles-active");
  });
  await step("a: alice deactivates it", async () => {
    // The server's minimum run before self-deactivation is 1 s here (real clock).
    await a.page.waitForTimeout(1100);
    await a.page.getByRole("row", { name: /Helpdesk Administrator/ })
      .getByRole("button", { name: /Deactivate/ }).first().click();
    await expectText(a.page, "Helpdesk Administrator is deactivated.");
  });

  // (b) activation with approval
  const c = await person("carol");
  await step("b: carol signs in, enrols and requests Global Administrator", async () => {
    await signIn(c.page, "carol");
    await enrol(c.page);
    await c.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    await c.page.getByRole("row", { name: /Global Administrator/ })
      .getByRole("link", { name: /Activate/ }).first().click();
    await expectText(c.page, "approval");
    await c.page.getByLabel(/Justification/).fill("Tenant-wide conditional access change CHG-1042");
    await c.page.getByLabel(/Ticket number/).fill("CHG-1042");
    await c.page.getByLabel(/Ticket system/).fill("ServiceNow");
    await c.page.getByRole("button", { name: "Request approval" }).click();
    await expectText(c.page, "approval");
    await c.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My requests" }).click();
    await expectText(c.page, "Global Administrator");
    await shot(c.page, "my-requests");
  });
  const d = await person("ada");
  await step("b: ada approves it on the Approvals page", async () => {
    await signIn(d.page, "ada");
    await d.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Approvals" }).click();
    await expectText(d.page, "Carol Security");
    await shot(d.page, "approvals");
    await d.page.getByRole("link", { name: "Review and decide" }).first().click();
    await d.page.getByLabel(/Justification/).fill("Change CHG-1042 approved by the CAB");
    await shot(d.page, "approval-decision");
    await d.page.getByRole("button", { name: /^Approve/ }).click();
    await expectText(d.page, "Approved");
  });
  await step("b: carol sees Global Administrator active and deactivates it", async () => {
    await c.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    const row = c.page.getByRole("row", { name: /Global Administrator/ })
      .filter({ has: c.page.getByRole("button", { name: /Deactivate/ }) });
    await row.first().waitFor();
    await shot(c.page, "my-roles-approved");
    await c.page.waitForTimeout(1100); // the 1 s minimum run, as above
    await row.first().getByRole("button", { name: /Deactivate/ }).click();
    await expectText(c.page, "Global Administrator is deactivated.");
  });

  // (c) a role setting changed, then found in the audit log
  await step("c: ada changes Helpdesk Administrator's maximum activation", async () => {
    await d.page.goto(`${BASE}/portal/admin/roles/${HELPDESK}/settings`);
    await shot(d.page, "role-settings");
    await d.page.getByLabel(/Activation maximum duration/).selectOption({ label: "4 hours" })
      .catch(async () => d.page.getByLabel(/Activation maximum duration/).fill("PT4H"));
    await d.page.getByRole("button", { name: /Save/ }).click();
    await expectText(d.page, "Settings saved");
  });
  await step("c: the change shows in the audit log", async () => {
    await d.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
    await expectText(d.page, "Audit chain intact");
    await expectText(d.page, "Update role setting");
    await shot(d.page, "audit");
  });
  await step("admin pages render", async () => {
    await d.page.goto(`${BASE}/portal/admin`);
    await shot(d.page, "administration");
    await d.page.goto(`${BASE}/portal/admin/roles/${HELPDESK}`);
    await shot(d.page, "role-assignments");
  });
  log("all scenarios passed");
} catch (e) {
  console.log(`[e2e] FAILED at "${current}": ${e.message}`);
  for (const ctx of browser.contexts()) {
    for (const p of ctx.pages()) {
      const text = await p.locator("main").innerText({ timeout: 2000 }).catch(() => "");
      console.log(`[e2e] page ${p.url()}:\n${text.slice(0, 2000)}`);
      if (SHOTS) await p.screenshot({ path: path.join(SHOTS, `failure-${ctx.pages().indexOf(p)}.png`) }).catch(() => {});
    }
  }
  process.exitCode = 1;
} finally {
  await browser.close();
}
