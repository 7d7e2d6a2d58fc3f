// A real OpenID Connect provider for Eligo's SSO tests: npm oidc-provider (OpenID Certified),
// on 127.0.0.1:$PORT, with one confidential client ($CLIENT_ID / $CLIENT_SECRET,
// redirect URIs $REDIRECT_URIS, comma-separated). Started by crates/testkit/src/oidc.rs.
//
// The test steers it over HTTP (never reachable from outside loopback):
//   POST /test/login  {"account", "claims": {...}, "acr", "amr": [...], "authTime"}
//        who the next interactions sign in (no login form: the interaction finishes at once)
//   POST /test/tamper {"mode": "audience"|"issuer"|"nonce"|"expired"|"signature"|"none"|"hs256"
//                      |"no-auth-time"}
//        the next token response carries an ID token spoiled that way, re-signed with the
//        provider's own key (except "signature", "none" and "hs256"); "no-auth-time" is a valid
//        token without `auth_time`, as a provider may send when no `max_age` was asked
import http from 'node:http';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt, decodeProtectedHeader, UnsecuredJWT } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
const redirectUris = (process.env.REDIRECT_URIS || '').split(',').filter(Boolean);

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
const { privateKey: otherKey } = await generateKeyPair('RS256', { extractable: true });

const accounts = new Map();
let login = null;
let tamper = null;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // Asked for on every request (voluntarily), so every ID token says its acr.
    require_auth_time: true,
    default_acr_values: ['urn:eligo:loa:1', 'urn:eligo:loa:2', 'c1', 'c2'],
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['eligo-test-cookie-key'] },
  claims: {
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'upn'],
  },
  conformIdTokenClaims: false,
  acrValues: ['urn:eligo:loa:1', 'urn:eligo:loa:2', 'c1', 'c2'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    const claims = accounts.get(id);
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
});
provider.proxy = false;

// RFC 8252 section 7.3: a redirect to a loopback address may use any port (the CLI's, a test
// server's), as Entra ID, Okta and Keycloak allow for loopback redirect URIs. The path must
// match a registered loopback URI's.
const loopback = (u) => u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
const exactly = provider.Client.prototype.redirectUriAllowed;
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
  if (exactly.call(this, value)) return true;
  let asked;
  try { asked = new URL(value); } catch { return false; }
  if (!loopback(asked)) return false;
  return this.redirectUris.some((r) => {
    const known = new URL(r);
    return loopback(known) && known.hostname === asked.hostname && known.pathname === asked.pathname && !asked.search;
  });
};

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}');
}

async function spoil(idToken, mode) {
  const claims = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  const now = Math.floor(Date.now() / 1000);
  const sign = (c, key = privateKey) => new SignJWT(c).setProtectedHeader({ alg: 'RS256', kid: header.kid }).sign(key);
  switch (mode) {
    case 'audience': return sign({ ...claims, aud: 'someone-else' });
    case 'issuer': return sign({ ...claims, iss: 'http://127.0.0.1:1/evil' });
    case 'nonce': return sign({ ...claims, nonce: 'not-the-nonce-eligo-sent' });
    case 'expired': return sign({ ...claims, iat: now - 7200, exp: now - 3600 });
    case 'signature': return sign(claims, otherKey);
    case 'none': return new UnsecuredJWT(claims).encode();
    case 'no-auth-time': { const { auth_time: _, ...rest } = claims; return sign(rest); }
    case 'hs256': return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(clientSecret));
    default: throw new Error(`unknown tamper mode ${mode}`);
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/test/login' && ctx.method === 'POST') {
    const body = await readJson(ctx.req);
    accounts.set(body.account, body.claims || {});
    login = body;
    ctx.status = 204;
    return;
  }
  if (ctx.path === '/test/tamper' && ctx.method === 'POST') {
    tamper = (await readJson(ctx.req)).mode || null;
    ctx.status = 204;
    return;
  }
  if (ctx.path.startsWith('/interaction/') && ctx.method === 'GET') {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (!login) {
      ctx.status = 400;
      ctx.body = 'no login set: POST /test/login first';
      return;
    }
    const grant = new provider.Grant({ accountId: login.account, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    const result = {
      login: {
        accountId: login.account,
        acr: login.acr,
        amr: login.amr,
        ts: login.authTime || Math.floor(Date.now() / 1000),
        remember: false,
      },
      consent: { grantId },
    };
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.respond = false;
    return;
  }
  await next();
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    const mode = tamper;
    tamper = null;
    ctx.body = { ...ctx.body, id_token: await spoil(ctx.body.id_token, mode) };
  }
});

const server = http.createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider ready on ${issuer}\n`);
});
