// What the browser walks share: Chromium launched once, steps that say where a walk failed,
// the checks every page must pass (accessibility, fits a phone, no console errors), and the
// portal's sign-in and authenticator enrolment as a person does them.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import { totp } from "./totp.mjs";


export const BASE = process.env.ELIGO_URL;
export const SHOTS = process.env.SHOTS || "";
export const PASSWORD = "Eligo-demo-2026!";
if (!BASE) throw new Error("ELIGO_URL is not set");

export const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});

let current = "start";
export const log = (m) => console.log(`[e2e] ${m}`);
export async function step(name, fn) {
  current = name;
  const t0 = Date.now();
  await fn();
  log(`ok  ${name} (${Date.now() - t0} ms)`);
}
// What every page must have for keyboard and screen-reader users: one h1, a main landmark,
// a label for every control, names for buttons and links, table headers with a scope, no
// duplicate ids. Checked on each page the walk photographs.
export async function accessible(page, name) {
  const problems = await page.evaluate(() => {
    const out = [];
    if (document.querySelectorAll("h1").length !== 1) out.push(`${document.querySelectorAll("h1").length} h1 elements`);
    if (!document.querySelector("main")) out.push("no <main> landmark");
    if (!document.documentElement.lang) out.push("no lang on <html>");
    for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
      if (el.labels.length === 0 && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) {
        out.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
      }
    }
    for (const el of document.querySelectorAll("button, a[href]")) {
      if (!el.textContent.trim() && !el.getAttribute("aria-label") && !el.querySelector("img[alt]")) {
        out.push(`${el.tagName.toLowerCase()} without a name`);
      }
    }
    for (const th of document.querySelectorAll("thead th")) {
      if (!th.getAttribute("scope")) out.push(`th without scope: ${th.textContent.trim()}`);
    }
    const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dup.length) out.push(`duplicate ids: ${[...new Set(dup)].join(", ")}`);
    return out;
  });
  if (problems.length) throw new Error(`accessibility problems on ${name}: ${problems.join("; ")}`);
}
// Narrow screens: nothing wider than the viewport (wide tables scroll inside their frame).
// Every link, button and field must be on a 390px screen too, not scrolled away in a frame.
export async function fitsPhone(page, name) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  const offscreen = await page.evaluate(() => Array.from(document.querySelectorAll("main a, main button, main input:not([type=hidden]), main select, main textarea"))
    .filter((el) => el.offsetParent !== null)
    .filter((el) => { const r = el.getBoundingClientRect(); return r.left < -1 || r.right > window.innerWidth + 1; })
    .map((el) => (el.textContent || el.getAttribute("name") || el.tagName).trim().slice(0, 40)));
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}-phone.png`) });
  await page.setViewportSize(before);
  if (overflow > 1) {
    await page.setViewportSize({ width: 390, height: 800 });
    const wide = await page.evaluate(() => Array.from(document.querySelectorAll("body *"))
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(-3).map((el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className}`));
    await page.setViewportSize(before);
    throw new Error(`${name} is ${overflow}px wider than a 390px phone screen (${wide.join(", ")})`);
  }
  if (offscreen.length) throw new Error(`${name} at 390px: off screen: ${offscreen.join(", ")}`);
}
export async function shot(page, name, fullPage = true) {
  await accessible(page, name);
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}
export async function expectText(page, text) {
  await page.getByText(text, { exact: false }).first().waitFor({ timeout: 10000 });
}
// Every page: no console errors (a CSP violation shows there), and the page is ours.
export function watch(page, who) {
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
export async function person(who, timezoneId) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  // Consequential buttons ask "are you sure?" (data-confirm): a person says yes.
  page.on("dialog", (d) => d.accept());
  watch(page, who);
  return { context, page };
}
export async function signIn(page, user, code) {
  // A page that sent the person to sign in says where to come back to: keep it.
  if (!new URL(page.url()).pathname.startsWith("/portal/sign-in")) await page.goto(`${BASE}/portal/sign-in`);
  await page.getByLabel("User name").fill(`${user}@contoso.example`);
  await page.getByLabel("Password").fill(PASSWORD);
  if (code) await page.getByLabel("Authenticator code").fill(code);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/portal/sign-in"));
}
export async function enrol(page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security info" }).click();
  await page.getByRole("button", { name: "Set up authenticator" }).click();
  await page.locator("figure.qr svg").waitFor();
  const secret = await page.locator("#totp-secret").getAttribute("data-secret");
  await page.getByLabel("Six-digit code").fill(totp(secret));
  await page.getByRole("button", { name: "Verify and finish" }).click();
  await expectText(page, "Your authenticator is set up");
  return secret;
}


// Runs a walk: on failure, says at which step and shows what each open page said.
export async function walk(scenarios) {
  try {
    await scenarios();
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
}
