// The demo's access review walked in a real Chromium against `eligo serve --demo` with mail
// going to a real maildev (driven by tests/it/portal/e2e.rs, which checks the store after):
// Frank sees his Global Administrator eligibility under My roles; his manager Ada finds the
// review's mail, follows its link through sign-in to the review, accepts the recommendations
// (setting up her authenticator when the portal asks for a second factor), stops the review as
// its administrator so the decisions apply, and Frank's eligibility is gone from My roles.
import { BASE, walk, step, shot, fitsPhone, expectText, person, signIn, enrol } from "./lib.mjs";

const MAILDEV = process.env.MAILDEV_URL;
const REVIEW = "Global Administrator eligibility — quarterly";
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

const eligible = (page) => page.getByRole("region", { name: "Eligible" });

await walk(async () => {
  const f = await person("frank", "UTC");
  await step("r: frank is eligible for Global Administrator", async () => {
    await signIn(f.page, "frank");
    await f.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    await eligible(f.page).getByText("Global Administrator").first().waitFor();
  });

  const a = await person("ada", "UTC");
  let link;
  await step("r: ada's review mail links to the review; signed out it leads through sign-in", async () => {
    const mail = await mailTo("ada@contoso.example", /Review access in Global Administrator eligibility/);
    const found = /https?:\/\/[^\s"<>]+\/portal\/reviews\/[0-9a-f-]{36}/.exec(mail.text);
    if (!found) throw new Error(`the reviewer's mail has no review link:\n${mail.text}`);
    link = found[0];
    if (!link.startsWith(BASE)) throw new Error(`the link ${link} does not point at the server ${BASE}`);
    await a.page.goto(link);
    await a.page.waitForURL(/\/portal\/sign-in/);
    await signIn(a.page, "ada");
    await a.page.waitForURL((u) => u.href === link);
    await expectText(a.page, REVIEW);
    await expectText(a.page, "Frank Former-Admin");
    await expectText(a.page, "no activation in the last 30 days (never)");
    await shot(a.page, "review-decisions");
    await fitsPhone(a.page, "review-decisions");
  });

  await step("r: ada accepts the recommendations, proving a second factor when asked", async () => {
    await a.page.getByRole("button", { name: "Accept all recommendations" }).click();
    // A password-only session is sent to the step-up page, which sends someone without an
    // authenticator to set one up first.
    if (!a.page.url().startsWith(link)) {
      if (a.page.url().includes("/portal/security")) {
        await enrol(a.page);
      } else {
        throw new Error(`accepting led to ${a.page.url()}`);
      }
      await a.page.goto(link);
      await a.page.getByRole("button", { name: "Accept all recommendations" }).click();
    }
    await expectText(a.page, "Accepted 2 recommendations.");
    const frank = a.page.getByRole("article", { name: /Frank Former-Admin/ });
    await frank.getByText("Denied").first().waitFor();
    const grace = a.page.getByRole("article", { name: /Grace Global-Ops/ });
    await grace.getByText("Approved").first().waitFor();
  });

  await step("r: ada, as administrator, stops the review and its decisions apply", async () => {
    await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Access reviews" }).click();
    await shot(a.page, "reviews-admin");
    await a.page.getByRole("link", { name: "New access review" }).click();
    await shot(a.page, "review-new");
    await fitsPhone(a.page, "review-new");
    await a.page.goBack();
    await a.page.getByRole("link", { name: REVIEW }).click();
    await shot(a.page, "review-definition");
    await a.page.getByRole("link", { name: "Results" }).first().click();
    await shot(a.page, "review-results");
    await fitsPhone(a.page, "review-results");
    await a.page.getByRole("button", { name: "Stop" }).click();
    await expectText(a.page, "The review was stopped");
    await expectText(a.page, "Applied");
    await a.page.getByRole("row", { name: /Frank Former-Admin/ }).getByText("AppliedSuccessfully").waitFor();
  });

  await step("r: frank's Global Administrator eligibility is gone from My roles", async () => {
    await f.page.reload();
    await expectText(f.page, "You are not eligible for any role or group access.");
    await shot(f.page, "review-applied-my-roles");
    await f.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My reviews" }).click();
    await expectText(f.page, "No access review waits on you right now.");
    await shot(f.page, "reviews-none");
  });
});
