// The seed scenarios of docs/scenarios.md walked in a real Chromium against a real
// `eligo serve --demo` (started by tests/it/portal/e2e.rs, which passes ELIGO_URL):
//   (a) alice signs in, enrols TOTP, activates Helpdesk Administrator and deactivates it, and
//       opens My access (access packages) in each tab;
//   (b) carol requests Global Administrator, ada approves it on the Approvals page, carol sees
//       it active and deactivates it;
//   (c) ada changes a role setting and finds the change in the audit log, as before → after;
//   (d) role settings in tabs with a picker; ada edits an assignment's end; alice requests an
//       extension, ada sees it;
//   (e) ada builds a catalog, an access package and its policy in Access packages.
// Screenshots of the main pages go to SHOTS (a folder) when set.
import { totp } from "./totp.mjs";
import {
  BASE, walk, step, accessible, fitsPhone, shot, expectText, person, signIn, enrol,
} from "./lib.mjs";

const HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8";

await walk(async () => {
  // (a) activation without approval
  // Alice works in Berlin: the portal shows her times, and reads the start she types, there.
  const a = await person("alice", "Europe/Berlin");
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
    await expectText(a.page, "your time zone (Europe/Berlin)");
    await shot(a.page, "activate");
    await a.page.locator("main form").getByRole("button", { name: /Activate/ }).click();
    await expectText(a.page, "is active until");
    await a.page.locator("time[data-countdown] + .countdown").first().waitFor();
    const shown = await a.page.locator("time[data-countdown]").first().textContent();
    if (!/(GMT\+1|CET|GMT\+2|CEST)$/.test(shown.trim())) throw new Error(`end time not in Berlin time: ${shown}`);
    await shot(a.page, "my-roles-active");
    await fitsPhone(a.page, "my-roles");
  });
  await step("a: alice deactivates it", async () => {
    // The server's minimum run before self-deactivation is 1 s here (real clock): until then
    // the row says when, and Deactivate appears once it can work.
    await a.page.waitForTimeout(1100);
    await a.page.reload();
    await a.page.getByRole("row", { name: /Helpdesk Administrator/ })
      .getByRole("button", { name: /Deactivate/ }).first().click();
    await expectText(a.page, "Helpdesk Administrator is deactivated.");
  });
  await step("a: alice schedules it for later, typed in Berlin time", async () => {
    await a.page.getByRole("row", { name: /Helpdesk Administrator/ })
      .getByRole("link", { name: /Activate/ }).first().click();
    await a.page.getByLabel(/Justification/).fill("Planned change window");
    // Tomorrow at 14:30 on Alice's clock, and the UTC moment that is in Berlin.
    const day = new Date(Date.now() + 86400000);
    const ymd = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(day);
    const offset = new Intl.DateTimeFormat("en-US", { timeZone: "Europe/Berlin", timeZoneName: "shortOffset" })
      .formatToParts(day).find((p) => p.type === "timeZoneName").value; // "GMT+1" or "GMT+2"
    const hours = Number(offset.replace("GMT", "")) || 0;
    const utc = new Date(Date.parse(`${ymd}T14:30:00Z`) - hours * 3600000).toISOString().replace(".000Z", "Z");
    await a.page.getByLabel(/Start later/).fill(`${ymd}T14:30`);
    await a.page.locator("main form").getByRole("button", { name: /Activate/ }).click();
    const errors = a.page.locator(".form-errors");
    if (await errors.count()) throw new Error(`refused: ${await errors.first().textContent()}`);
    await a.page.locator(`time[datetime="${utc}"]`).first().waitFor();
  });

  await step("a: alice requests Security Administrator and sees it waiting", async () => {
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    await a.page.getByRole("row", { name: /Security Administrator/ })
      .getByRole("link", { name: /Activate/ }).first().click();
    await a.page.getByLabel(/Justification/).fill("Incident INC-7 triage");
    await a.page.getByRole("button", { name: "Request approval" }).click();
    // My roles shows the request waiting, with a way to it and to cancel it, and no Activate.
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    const row = a.page.getByRole("row", { name: /Security Administrator/ });
    await row.getByText("Waiting for approval").waitFor();
    await row.getByRole("link", { name: "See the request" }).waitFor();
    await row.getByRole("button", { name: "Cancel request" }).waitFor();
    if (await row.getByRole("link", { name: /Activate/ }).count()) throw new Error("Activate offered while a request waits");
    await shot(a.page, "my-roles-pending");
    await fitsPhone(a.page, "my-roles-pending");
  });

  await step("a: alice opens My access, each tab at desktop and phone width", async () => {
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My access" }).click();
    await a.page.getByRole("heading", { name: "My access", level: 1 }).waitFor();
    for (const tab of ["Available", "Active", "Expired", "Request history"]) {
      await a.page.getByRole("navigation", { name: "My access tabs" }).getByRole("link", { name: tab }).click();
      await a.page.locator('nav.tabs a[aria-current="page"]', { hasText: tab }).waitFor();
      const name = `my-access-${tab.toLowerCase().replace(" ", "-")}`;
      await shot(a.page, name);
      await fitsPhone(a.page, name);
    }
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
  await step("b: ada approves both waiting requests together on the Approvals page", async () => {
    await signIn(d.page, "ada");
    // Deciding needs a fresh second factor: ada sets up her authenticator first.
    await enrol(d.page);
    await d.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Approvals" }).click();
    await expectText(d.page, "Carol Security");
    await shot(d.page, "approvals");
    await d.page.getByRole("link", { name: "Review and decide" }).first().click();
    await d.page.getByLabel(/Justification/).fill("Change CHG-1042 approved by the CAB");
    await shot(d.page, "approval-decision");
    await fitsPhone(d.page, "approval-decision");
    // Both waiting requests (carol's and alice's) are decided together, with one justification.
    await d.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: /Approvals/ }).click();
    const boxes = d.page.getByRole("checkbox", { name: /Select for a decision together/ });
    if ((await boxes.count()) < 2) throw new Error(`expected two waiting requests, found ${await boxes.count()}`);
    for (const box of await boxes.all()) await box.check();
    await d.page.locator("#bulk-justification").fill("Change CHG-1042 and incident INC-7 approved by the CAB");
    await shot(d.page, "approvals-bulk");
    await d.page.getByRole("button", { name: "Approve selected" }).click();
    await expectText(d.page, "Approved 2 requests");
  });
  await step("b: carol sees Global Administrator active and deactivates it", async () => {
    await c.page.waitForTimeout(1100); // the 1 s minimum run, as above
    await c.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    const row = c.page.getByRole("row", { name: /Global Administrator/ })
      .filter({ has: c.page.getByRole("button", { name: /Deactivate/ }) });
    await row.first().waitFor();
    await shot(c.page, "my-roles-approved");
    await row.first().getByRole("button", { name: /Deactivate/ }).click();
    await expectText(c.page, "Global Administrator is deactivated.");
  });

  // (c) a role setting changed, then found in the audit log
  await step("c: ada changes Helpdesk Administrator's maximum activation", async () => {
    await d.page.goto(`${BASE}/portal/admin/roles/${HELPDESK}/settings`);
    await shot(d.page, "role-settings", false);
    // A number and a unit (hours, as it stands): 4 hours.
    await d.page.getByLabel("Activation maximum duration", { exact: true }).fill("4");
    await d.page.getByRole("button", { name: /Save/ }).click();
    await expectText(d.page, "Activation maximum duration: 8 hours → 4 hours.");
  });
  await step("c: the change shows in the audit log", async () => {
    await d.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
    await expectText(d.page, "Audit chain intact");
    await expectText(d.page, "Update role setting in PIM");
    await shot(d.page, "audit", false);
    // The entry names who changed what.
    const entry = d.page.locator("main").getByText("Update role setting in PIM").first()
      .locator("xpath=ancestor::tr[1]");
    const text = await entry.innerText();
    for (const want of ["Ada Administrator", "Helpdesk Administrator"]) {
      if (!text.includes(want)) throw new Error(`the audit entry does not name ${want}: ${text}`);
    }
    await fitsPhone(d.page, "audit");
    // And the setting reads what was saved: Helpdesk Administrator now allows 4 hours.
    await d.page.goto(`${BASE}/portal/admin/roles/${HELPDESK}/settings`);
    const value = await d.page.getByLabel("Activation maximum duration", { exact: true }).inputValue();
    const unit = await d.page.getByLabel("Activation maximum duration: unit").inputValue();
    if (`${value} ${unit}` !== "4 hours") throw new Error(`the setting reads ${value} ${unit}, not 4 hours`);
  });
  // ---- Issue 15, item 9: an audit that shows what changed. The save above reads as
  // before → after on the Audit page, in words, one row for the one save; the actor filter
  // finds it by the start of a name. (A block of its own, to keep merges simple.)
  await step("c: before/after in the audit page", async () => {
    await d.page.goto(`${BASE}/portal/audit?activity=role+setting`);
    const rows = d.page.locator("main table.changes");
    const text = await rows.first().innerText();
    for (const want of ["Activation maximum duration", "8 hours (PT8H)", "4 hours (PT4H)"]) {
      if (!text.includes(want)) throw new Error(`the before/after does not say ${want}: ${text}`);
    }
    if (/[0-9a-f]{8}-[0-9a-f]{4}-/.test(text) || text.includes("newValue")) {
      throw new Error(`the before/after shows ids or raw JSON: ${text}`);
    }
    await d.page.getByLabel("Actor").fill("ada adm");
    await d.page.getByRole("button", { name: "Apply filters" }).click();
    await expectText(d.page, "Update role setting in PIM");
    const mine = await d.page.locator("main table.changes").count();
    if (mine !== 1) throw new Error(`one save should be one row with changes, found ${mine}`);
    await accessible(d.page, "audit before/after");
    await fitsPhone(d.page, "audit-changes");
    await shot(d.page, "audit-changes", false);
  });
  // ---- end of issue 15, item 9
  // (d) Role settings in Entra's tabs (issue 15, item 6). A block of its own, so that other
  // changes to the walk merge cleanly: ada goes through the three tabs (links, the current one
  // marked), sets the maximum activation as a number and a unit, names an approver in its own
  // box, adds a box, saves with Enter in a field, and reads what changed.
  await step("d: role settings open in tabs that fit a phone", async () => {
    await d.page.goto(`${BASE}/portal/admin/roles/${HELPDESK}/settings`);
    const tabs = d.page.getByRole("navigation", { name: "Settings tabs" });
    for (const name of ["Assignment", "Notification", "Activation"]) {
      await tabs.getByRole("link", { name, exact: true }).click();
      await d.page.waitForURL(new RegExp(`[?&]tab=${name.toLowerCase()}`));
      const current = (await tabs.locator("[aria-current=page]").textContent()).trim();
      if (current !== name) throw new Error(`the ${name} tab is open but ${current} is marked current`);
      await d.page.getByRole("button", { name: `Save ${name.toLowerCase()} settings` }).waitFor();
      await shot(d.page, `role-settings-${name.toLowerCase()}`, false);
      await fitsPhone(d.page, `role-settings-${name.toLowerCase()}`);
    }
  });
  await step("d: ada sets 90 minutes and an approver, and reads what changed", async () => {
    const max = d.page.getByLabel("Activation maximum duration", { exact: true });
    await max.fill("90");
    await d.page.getByLabel("Activation maximum duration: unit").selectOption("minutes");
    const stage = d.page.getByRole("group", { name: "Approval stage 1" });
    const approvers = stage.getByRole("group", { name: "Approvers", exact: true });
    // The approver is picked as typed: "dav" lists Dave Auditor; the arrow keys and Enter
    // choose him, which puts his user name into the box.
    const box = approvers.getByLabel("Approver 1", { exact: true });
    await box.fill("");
    await box.pressSequentially("dav", { delay: 50 });
    const option = d.page.getByRole("option", { name: /Dave Auditor/ });
    await option.waitFor();
    if ((await box.getAttribute("aria-expanded")) !== "true") throw new Error("the picker's list is not announced as open");
    await shot(d.page, "picker", false);
    await box.press("ArrowDown");
    await box.press("Enter");
    if ((await box.inputValue()) !== "dave@contoso.example") throw new Error(`the picker put ${await box.inputValue()}`);
    if (await option.isVisible()) throw new Error("the picker's list stayed open after a choice");
    // "Add another approver" posts the form and brings it back with one more box, what was
    // typed kept (the same without JavaScript).
    await approvers.getByRole("button", { name: "Add another approver" }).click();
    await approvers.getByLabel("Approver 2", { exact: true }).waitFor();
    if ((await max.inputValue()) !== "90") throw new Error("the typed maximum was lost");
    await fitsPhone(d.page, "role-settings-more-approvers");
    // Enter in a field saves (the form's first button is Save, not "Add another approver").
    await max.press("Enter");
    await expectText(d.page, "Activation maximum duration: 4 hours → 1 hour 30 minutes.");
    await expectText(d.page, "Approvers (stage 1): none → Dave Auditor (dave@contoso.example).");
    const shown = await approvers.getByLabel("Approver 1", { exact: true }).inputValue();
    if (shown !== "Dave Auditor (dave@contoso.example)") throw new Error(`approver 1 shows ${shown}`);
    await shot(d.page, "role-settings-saved", false);
    // A role's page says who approves: Helpdesk needs no approval (its approvers wait until it
    // does), Global Administrator needs Ada's.
    await d.page.goto(`${BASE}/portal/admin/roles/${HELPDESK}`);
    await expectText(d.page, "Activation does not need approval.");
    await d.page.goto(`${BASE}/portal/admin/roles/62e90394-69f5-4237-9190-012177145e10`);
    await expectText(d.page, "Activation needs approval from: Ada Administrator (ada@contoso.example).");
  });
  // ---- (d) issue 15, item 8: assignments you can edit. Kept in a block of its own. ----
  // Ada changes the end of Alice's Helpdesk Administrator eligibility, typed on her own clock,
  // and the role's page shows the new end; Alice asks for her Security Administrator
  // eligibility (ending in 10 days) to be extended, and Ada sees the request.
  await step("d: ada edits an assignment's end and sees the new end", async () => {
    await d.page.goto(`${BASE}/portal/admin/roles/${HELPDESK}`);
    await d.page.getByRole("link", { name: "Edit eligible assignment of Alice Helpdesk-Lead" }).click();
    await expectText(d.page, "Edit the eligible assignment of Alice Helpdesk-Lead");
    await shot(d.page, "assignment-edit", false);
    await fitsPhone(d.page, "assignment-edit");
    await d.page.getByLabel("On a date", { exact: true }).check();
    const typed = await d.page.evaluate(() => {
      const day = new Date(Date.now() + 30 * 86400000);
      const pad = (n) => String(n).padStart(2, "0");
      return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}T17:00`;
    });
    // The moment 17:00 is on Ada's clock, as the page must store it.
    const utc = await d.page.evaluate((v) => new Date(v).toISOString().replace(".000Z", "Z"), typed);
    await d.page.getByLabel(/^End date/).fill(typed);
    await d.page.getByLabel("Justification").fill("The helpdesk rota ends then");
    await d.page.getByRole("button", { name: "Save changes" }).click();
    await expectText(d.page, "is changed: it lasts until");
    await d.page.getByRole("row", { name: /Alice Helpdesk-Lead/ }).locator(`time[datetime="${utc}"]`).first().waitFor();
  });
  await step("d: alice requests an extension, ada sees it", async () => {
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    await expectText(a.page, "Eligibility ends in 10 days");
    await a.page.getByRole("row", { name: /Security Administrator/ })
      .getByRole("link", { name: "Request extension" }).click();
    await a.page.getByLabel(/Justification/).fill("The security audit runs until March");
    await fitsPhone(a.page, "request-extension");
    await a.page.getByRole("button", { name: "Request extension" }).click();
    await expectText(a.page, "waits for an administrator");
    await fitsPhone(a.page, "my-roles-extension");
    await d.page.goto(`${BASE}/portal/admin/roles/194ae4cb-b126-40b2-bd5b-6091b380977d`);
    await expectText(d.page, "The security audit runs until March");
    await shot(d.page, "extension-requests", false);
    await fitsPhone(d.page, "extension-requests");
    await d.page.goto(`${BASE}/portal/admin/groups`);
    await d.page.getByRole("link", { name: "Compliance Portal Admins" }).first().click();
    await expectText(d.page, "Privileged access");
    await shot(d.page, "group-privileged-access", false);
    await fitsPhone(d.page, "group-privileged-access");
  });
  // ---- end of (d) ----

  // ---- (e) issue 16, item 6: entitlement management administration. ----
  // Ada builds a catalog with the Helpdesk Team group, a package giving its membership, and a
  // policy with one approval stage and a question, all through the forms.
  await step("e: ada builds an access package and its policy", async () => {
    await d.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Access packages" }).click();
    await d.page.getByRole("link", { name: "Catalogs" }).click();
    await d.page.getByLabel("Name", { exact: true }).fill("Helpdesk");
    await d.page.getByRole("button", { name: "Create catalog" }).click();
    await expectText(d.page, "The catalog Helpdesk was created.");
    await d.page.getByLabel("Add a group").fill("Helpdesk Team");
    await d.page.getByRole("button", { name: "Add group" }).click();
    await expectText(d.page, "Helpdesk Team was added to the catalog.");
    await shot(d.page, "em-catalog", false);
    await fitsPhone(d.page, "em-catalog");
    await d.page.getByRole("link", { name: "New access package" }).click();
    await d.page.getByLabel("Name", { exact: true }).fill("Helpdesk shift");
    await d.page.getByRole("button", { name: "Create access package" }).click();
    await expectText(d.page, "The access package Helpdesk shift was created.");
    await d.page.getByLabel("Add a role of the catalog's resources").selectOption({ label: "Member of Helpdesk Team" });
    await d.page.getByRole("button", { name: "Add role" }).click();
    await expectText(d.page, "The package now gives Member of Helpdesk Team.");
    await d.page.getByRole("link", { name: "New policy" }).click();
    await d.page.getByLabel("Name", { exact: true }).fill("Employees, one approval");
    await d.page.getByLabel("Requests need approval").check();
    await d.page.getByLabel("Approval stages").selectOption("1");
    const stage = d.page.getByRole("group", { name: "Approval stage 1" });
    await stage.getByLabel("Approvers", { exact: true }).fill("ada@contoso.example");
    await d.page.getByRole("group", { name: "Question 1" }).getByLabel("Question", { exact: true }).fill("Ticket number");
    await shot(d.page, "em-policy", true);
    await fitsPhone(d.page, "em-policy");
    await d.page.getByRole("button", { name: "Save policy" }).click();
    await expectText(d.page, "The policy Employees, one approval was saved.");
    await shot(d.page, "em-package", false);
    await fitsPhone(d.page, "em-package");
    await d.page.getByRole("link", { name: "Assignments and requests" }).click();
    await expectText(d.page, "Nobody has this package.");
    await shot(d.page, "em-assignments", false);
    await fitsPhone(d.page, "em-assignments");
  });
  // ---- end of (e) ----

  await step("admin pages render", async () => {
    for (const [page, name] of [
      ["/portal/admin", "administration"],
      [`/portal/admin/roles/${HELPDESK}`, "role-assignments"],
      ["/portal/admin/roles", "roles"],
      ["/portal/admin/users", "users"],
      ["/portal/admin/groups", "groups"],
      ["/portal/admin/connectors", "connectors"],
      ["/portal/requests", "ada-requests"],
      ["/portal/security", "security"],
      ["/portal/roles", "ada-roles"],
      ["/portal/approvals", "approvals"],
      ["/portal/audit", "audit-log"],
      [`/portal/admin/roles/${HELPDESK}/settings`, "role-settings"],
    ]) {
      await d.page.goto(`${BASE}${page}`);
      await shot(d.page, name, false);
      await fitsPhone(d.page, name);
    }
  });
});
