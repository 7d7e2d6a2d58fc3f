// The access package scenario of docs/scenarios.md ("An access package, end to end") walked in
// a real Chromium against `eligo serve --demo` with mail going to a real maildev. Run twice by
// tests/it/portal/e2e.rs, which checks the group, the audit log and slapd between the phases:
//   PHASE=request: erin requests Insider Risk Management with a justification; her manager
//     alice finds the mail in maildev, follows its link, signs in, sets up her authenticator,
//     and approves; erin sees the package active until about 30 days from now;
//   PHASE=remove: erin removes her access and finds the package under Expired.
import { totp } from "./totp.mjs";
import { BASE, walk, step, shot, fitsPhone, expectText, person, signIn, enrol } from "./lib.mjs";

const PHASE = process.env.PHASE;
const MAILDEV = process.env.MAILDEV_URL;
const PACKAGE = "Insider Risk Management";
if (!MAILDEV) throw new Error("MAILDEV_URL is not set");

// The first mail to `to` whose subject matches, waiting for the outbox to send it.
async function mailTo(to, subject) {
  for (let i = 0; i < 100; i++) {
    const all = await (await fetch(`${MAILDEV}/email`)).json();
    const found = all.find((m) => m.to.some((t) => t.address === to) && subject.test(m.subject));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${to} matching ${subject} arrived`);
}

async function requestPhase() {
  const e = await person("erin", "UTC");
  await step("f: erin requests Insider Risk Management with a justification", async () => {
    await signIn(e.page, "erin");
    await e.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My access" }).click();
    const card = e.page.getByRole("article", { name: PACKAGE });
    await card.getByText("Needs approval").first().waitFor();
    await card.getByRole("link", { name: "Request" }).click();
    await e.page.getByLabel(/Justification/).fill("Investigate the alert raised on the finance share");
    await shot(e.page, "access-request");
    await e.page.getByRole("button", { name: "Send the request" }).click();
    await expectText(e.page, `Your request for ${PACKAGE} was sent. It waits for approval`);
    await e.page.getByRole("row", { name: new RegExp(PACKAGE) }).getByText(/pending/i).first().waitFor();
    await shot(e.page, "access-history");
  });

  const a = await person("alice", "UTC");
  let link;
  await step("f: alice's mail links to the decision; signed out it leads through sign-in", async () => {
    const mail = await mailTo("alice@contoso.example", /Insider Risk Management/);
    const found = /https?:\/\/[^\s"<>]+\/portal\/approvals\/packages\/[0-9a-f-]{36}/.exec(mail.text);
    if (!found) throw new Error(`the approver's mail has no decision link:\n${mail.text}`);
    link = found[0];
    if (!link.startsWith(BASE)) throw new Error(`the link ${link} does not point at the server ${BASE}`);
    await a.page.goto(link);
    await a.page.waitForURL(/\/portal\/sign-in/);
    await signIn(a.page, "alice");
    await a.page.waitForURL((u) => u.href === link);
    await expectText(a.page, `Erin`);
    await expectText(a.page, "Investigate the alert raised on the finance share");
  });
  await step("f: alice sets up her authenticator and approves", async () => {
    const secret = await enrol(a.page);
    await a.page.goto(link);
    await a.page.getByLabel(/Justification/).fill("Erin is on the insider risk rota this month");
    // Enrolling proved a second factor just now; when that is older than the server's
    // freshness the page asks for a code, one not used at enrolment.
    const field = a.page.getByLabel("Code from your authenticator");
    if (await field.count()) {
      const used = totp(secret);
      let code = used;
      while (code === used) {
        await a.page.waitForTimeout(1000);
        code = totp(secret);
      }
      await field.fill(code);
    }
    await shot(a.page, "package-decision");
    await a.page.getByRole("button", { name: "Approve" }).click();
    await expectText(a.page, "Approved:");
  });
  await step("f: erin sees the package active until about 30 days from now", async () => {
    await e.page.goto(`${BASE}/portal/access?tab=active`);
    const row = e.page.getByRole("row", { name: new RegExp(PACKAGE) });
    const end = await row.locator("time").nth(1).getAttribute("datetime");
    const days = (Date.parse(end) - Date.now()) / 86400000;
    if (days < 29.9 || days > 30.01) throw new Error(`the package ends ${end}, ${days} days from now, not 30`);
    await row.getByRole("link", { name: "Remove access" }).waitFor();
    await shot(e.page, "access-active");
    await fitsPhone(e.page, "access-active");
  });
}

async function removePhase() {
  const e = await person("erin", "UTC");
  await step("f: erin removes her access to Insider Risk Management", async () => {
    await signIn(e.page, "erin");
    await e.page.goto(`${BASE}/portal/access?tab=active`);
    await e.page.getByRole("row", { name: new RegExp(PACKAGE) }).getByRole("link", { name: "Remove access" }).click();
    await e.page.locator("main form").getByRole("button", { name: "Remove access" }).click();
    await expectText(e.page, `You no longer have ${PACKAGE}.`);
  });
  await step("f: it is listed under Expired", async () => {
    await e.page.goto(`${BASE}/portal/access?tab=expired`);
    await e.page.getByRole("row", { name: new RegExp(PACKAGE) }).waitFor();
    await shot(e.page, "access-expired");
    await e.page.goto(`${BASE}/portal/access?tab=active`);
    await expectText(e.page, "You hold no access package.");
  });
}

await walk(async () => {
  if (PHASE === "request") await requestPhase();
  else if (PHASE === "remove") await removePhase();
  else throw new Error(`PHASE must be request or remove, not ${PHASE}`);
});
