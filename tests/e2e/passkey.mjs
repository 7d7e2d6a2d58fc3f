// Passkeys in Chromium with a CDP virtual authenticator (CTAP2, internal, resident keys, user
// verification) on host localhost, against `eligo serve --demo` started by
// tests/it/portal/e2e_passkey.rs with ELIGO_PUBLIC_URL=http://localhost:PORT and a short
// ELIGO_MFA_FRESHNESS (FRESHNESS_MS here), so a second factor goes stale within the walk:
//   alice signs in with password and code, adds a passkey in Security info, signs out, signs in
//   with password and passkey, activates Helpdesk Administrator with a passkey step-up, and
//   removes the passkey (verifying with it first, the page asks).
import { totp } from "./totp.mjs";
import { BASE, walk, step, shot, fitsPhone, expectText, person, signIn, enrol, log } from "./lib.mjs";

const FRESHNESS_MS = Number(process.env.FRESHNESS_MS || "15000");
const NAME = "Chromium key";

await walk(async () => {
  const a = await person("alice", "Europe/Berlin");
  const page = a.page;
  let credentials = async () => [];
  await step("a virtual authenticator is attached (CDP WebAuthn)", async () => {
    const cdp = await a.context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2", transport: "internal", hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
      },
    });
    credentials = async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials;
  });
  let secret = "";
  await step("alice signs in with her password and enrols an authenticator app", async () => {
    await page.goto(`${BASE}/portal/sign-in`);
    await signIn(page, "alice");
    secret = await enrol(page);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/portal\/sign-in/);
  });
  await step("alice signs in with password and code", async () => {
    // The next step's code: the enrolment used this step's, and a code works once.
    await signIn(page, "alice", totp(secret, Date.now() + 30000));
  });
  await step("alice adds a passkey in Security info", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security info" }).click();
    await expectText(page, "You have no passkeys.");
    await page.getByLabel(/^Name/).fill(NAME);
    await page.getByRole("button", { name: "Add a passkey" }).click();
    await expectText(page, `Passkey "${NAME}" added`);
    await page.getByRole("row", { name: new RegExp(NAME) }).waitFor();
    const held = await credentials();
    if (held.length !== 1) throw new Error(`the authenticator holds ${held.length} credentials`);
    if (held[0].rpId !== "localhost") throw new Error(`RP ID ${held[0].rpId}, not localhost`);
    await shot(page, "security-info-passkey");
    await fitsPhone(page, "security-info-passkey");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/portal\/sign-in/);
  });
  await step("alice signs in with password and passkey", async () => {
    await page.getByLabel("User name").fill("alice@contoso.example");
    await page.getByLabel("Password").fill("Eligo-demo-2026!");
    await page.getByRole("button", { name: "Use a passkey" }).click();
    await page.waitForURL(/\/portal\/roles/);
    await expectText(page, "Alice Helpdesk-Lead");
  });
  await step("alice activates Helpdesk Administrator with a passkey step-up", async () => {
    await page.waitForTimeout(FRESHNESS_MS + 500); // the sign-in's second factor goes stale
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My roles" }).click();
    await page.getByRole("row", { name: /Helpdesk Administrator/ })
      .getByRole("link", { name: /Activate/ }).first().click();
    await expectText(page, "or your passkey");
    await expectText(page, "Or leave the code empty");
    await shot(page, "activate-passkey");
    await page.locator("main form").getByRole("button", { name: /Activate/ }).click();
    await expectText(page, "is active until");
  });
  await step("alice removes the passkey, verifying with it first", async () => {
    await page.waitForTimeout(FRESHNESS_MS + 500);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security info" }).click();
    await page.getByRole("button", { name: `Remove ${NAME}` }).click();
    await page.waitForURL(/\/portal\/step-up/);
    await expectText(page, "your browser asks for your passkey");
    await page.getByRole("button", { name: "Verify" }).click();
    await page.waitForURL(/\/portal\/security/);
    await expectText(page, "Verified");
    await page.getByRole("button", { name: `Remove ${NAME}` }).click();
    await expectText(page, "Passkey removed");
    await expectText(page, "You have no passkeys.");
  });
  log("passkey walk done");
});
