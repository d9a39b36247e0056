// A real OpenID Provider for the tests: panva's oidc-provider (npm, exact version in
// package-lock.json), on a free loopback port. Started by tests/oidc/provider.py; prints one
// JSON line {"issuer": ...} once it listens, and stops when its standard input closes.
//
// Accounts are made from the login typed at the provider's form (any password):
//   client:<id>            pbx_client_id "<id>" (the cabinet finds its client by it)
//   client:<id>:<twist>    the same, and the token endpoint answers with an ID token that the
//                          cabinet must refuse: expired | other-audience | tampered | wrong-issuer
//   manager:<email>        email (verified) and pbx_roles ["pbx-referral-manager"]
//   staff:<email>          email (verified), no role
//   anything else          no pbx claim at all
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import { SignJWT, decodeJwt, importJWK } from 'jose';
import Provider, { interactionPolicy } from 'oidc-provider';

const settings = JSON.parse(process.argv[2] || '{}');
const CLIENT_ID = settings.clientId || 'cabinet';
const CLIENT_SECRET = settings.clientSecret || 'cabinet-secret-for-tests-only-0123456789';
const OTHER_CLIENT_ID = 'other-app';
const MANAGER_ROLE = 'pbx-referral-manager';

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

function accountClaims(accountId) {
  const [kind, value] = accountId.split(':');
  const claims = { sub: accountId };
  if (kind === 'client') {
    claims.pbx_client_id = value;
    claims.email = `client${value}@example.ru`;
    claims.email_verified = true;
  } else if (kind === 'manager' || kind === 'staff') {
    claims.email = value;
    claims.email_verified = true;
    if (kind === 'manager') claims.pbx_roles = [MANAGER_ROLE];
  }
  return claims;
}

// A first-party application: no consent screen (a native client would otherwise always get one).
const policy = interactionPolicy.base();
policy.get('consent').checks.remove('native_client_prompt');

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const clientTemplate = {
  client_secret: CLIENT_SECRET,
  // A native client may come back to any port of the loopback address (RFC 8252): the tests'
  // cabinets listen on free ports.
  application_type: 'native',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/login/oidc/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1/login', 'http://127.0.0.1/manage/login'],
};

const provider = new Provider(issuer, {
  clients: [
    { ...clientTemplate, client_id: CLIENT_ID },
    { ...clientTemplate, client_id: OTHER_CLIENT_ID, client_secret: 'other-app-secret-0123456789' },
  ],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  interactions: { policy },
  pkce: { required: () => true },
  // Keycloak's habit: the claims of the granted scopes are in the ID token itself.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub', 'pbx_client_id', 'pbx_roles'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'email'],
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Session: 3600, Interaction: 600, Grant: 3600 },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>
<body><h1>Sign out of the test provider?</h1>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button></body></html>`;
      },
    },
  },
  // A first-party application: no consent screen, the grant is made at once.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email');
    await grant.save();
    return grant;
  },
  findAccount: async (ctx, accountId) => ({
    accountId,
    claims: async () => accountClaims(accountId),
  }),
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head>
<body><h1>${out.error}</h1><p>${String(out.error_description || '').replace(/[<>&]/g, '')}</p></body></html>`;
  },
});

// The token endpoint's answer, twisted for the accounts that ask for it: a token the cabinet
// must refuse, signed (except "tampered") with the provider's own key.
const signingKey = await importJWK(signingJwk, 'RS256');
async function sign(claims) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid }).sign(signingKey);
}
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.method !== 'POST' || !ctx.body || !ctx.body.id_token) return;
  const claims = decodeJwt(ctx.body.id_token);
  const twist = String(claims.sub).split(':')[2];
  const now = Math.floor(Date.now() / 1000);
  if (twist === 'expired') {
    ctx.body = { ...ctx.body, id_token: await sign({ ...claims, iat: now - 1200, exp: now - 900 }) };
  } else if (twist === 'other-audience') {
    // azp names the cabinet, so only the audience check itself can refuse it.
    ctx.body = { ...ctx.body, id_token: await sign({ ...claims, aud: OTHER_CLIENT_ID, azp: CLIENT_ID }) };
  } else if (twist === 'wrong-issuer') {
    ctx.body = { ...ctx.body, id_token: await sign({ ...claims, iss: 'http://127.0.0.1:9/' }) };
  } else if (twist === 'tampered') {
    const [header, , signature] = ctx.body.id_token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, pbx_client_id: '1' })).toString('base64url');
    ctx.body = { ...ctx.body, id_token: `${header}.${forged}.${signature}` };
  }
});

provider.on('server_error', (ctx, error) => { console.error('server_error', error); });
server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.stdin.resume();
process.stdin.on('end', () => { server.close(); process.exit(0); });
