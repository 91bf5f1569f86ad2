// node-oidc-provider (9.x) on loopback https, for tokensmith's interop tests.
//
// Usage: node server.mjs <config.json>   (or INTEROP_PROVIDER_CONFIG=<config.json>)
//
// The Python fixture (tests/interop/_provider.py) writes the config file:
//   {
//     "host": "127.0.0.1", "port": 0,              // 0 = pick a free port
//     "path": "/oidc",                             // issuer path (MSAL wants one)
//     "tls": {"cert": "<pem path>", "key": "<pem path>"},
//     "user": {"login": "...", "password": "...", "claims": {...}},
//     "resource": {"indicator": "api://interop", "scopes": ["api://interop/read", ...]},
//     "clients": [<OIDC dynamic-registration client metadata>, ...],
//     "client_options": {"<client_id>": {"access_token_ttl": 60,
//                                         "strip_offline_access": true,
//                                         "accept_assertion_replay": true,
//                                         "dpop_require_nonce": true}},
//     "device_interval": 1, "rotate_refresh_tokens": true
//   }
//
// Once listening it prints one line on stdout:
//   TOKENSMITH-INTEROP-READY {"issuer": "https://127.0.0.1:<port>/oidc", "port": <port>}
//
// The provider is mounted at the issuer's path; other paths answer 404.
// Test-only endpoints (next to the provider's): GET <issuer>/_test/stats returns how many
// token / device-authorization requests each client made (by grant type and status);
// POST <issuer>/_test/stats/reset clears them.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

const configPath = process.argv[2] || process.env.INTEROP_PROVIDER_CONFIG;
if (!configPath) {
  console.error('usage: node server.mjs <config.json>');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8'));
const clientOptions = cfg.client_options || {};
const optionFor = (clientId, name, fallback) => clientOptions[clientId]?.[name] ?? fallback;
const user = cfg.user;
const resource = cfg.resource;

// ---- request counters (read by the tests to prove cache hits) -----------------------
let stats = {};
function count(route, clientId, grantType, status) {
  const key = `${route}|${clientId || '-'}|${grantType || '-'}|${status}`;
  stats[key] = (stats[key] || 0) + 1;
}
function statsAsList() {
  return Object.entries(stats).map(([key, n]) => {
    const [route, clientId, grantType, status] = key.split('|');
    return { route, client_id: clientId, grant_type: grantType, status: Number(status), count: n };
  });
}

// ---- form bodies read before the provider sees them -----------------------------------
// The provider accepts an already-parsed body (ctx.req.body); it logs one warning then.
async function readForm(ctx) {
  if (ctx.req.body !== undefined) return ctx.req.body;
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const parsed = querystring.parse(Buffer.concat(chunks).toString('utf8'));
  ctx.req.body = parsed;
  return parsed;
}

const INTERACTION_SUBMIT = /^\/interaction\/[^/]+$/;

// Dev interactions accept any login; this one checks the test account's password.
async function checkPassword(ctx, next) {
  if (ctx.method === 'POST' && INTERACTION_SUBMIT.test(ctx.path)) {
    const form = await readForm(ctx);
    if (form.prompt === 'login' && (form.login !== user.login || form.password !== user.password)) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = '<!DOCTYPE html><html><body><p class="red">Invalid login or password.</p></body></html>';
      return undefined;
    }
  }
  return next();
}

// A client configured with strip_offline_access is never granted offline_access, yet
// still receives refresh tokens (see issueRefreshToken): its refresh tokens do not
// carry offline_access, and a refresh asking for it is rejected with invalid_scope.
//
// OpenID Connect Core 1.0 section 11 lets a provider ignore offline_access unless the
// authorization request has prompt=consent, and node-oidc-provider does. MSAL never
// sends prompt unless asked, so an authorization request asking for offline_access
// without a prompt gets prompt=consent added here (the person then sees the consent
// page), the way a real client's refresh tokens come out of the authorization code flow.
const dropOfflineAccess = (scope) => scope.split(' ').filter((s) => s && s !== 'offline_access').join(' ');

async function offlineAccessPolicy(ctx, next) {
  if (ctx.path === '/device/auth' && ctx.method === 'POST') {
    const form = await readForm(ctx);
    if (optionFor(form.client_id, 'strip_offline_access', false) && typeof form.scope === 'string') {
      form.scope = dropOfflineAccess(form.scope);
    }
  } else if (ctx.path === '/auth' && ctx.method === 'GET' && typeof ctx.query.scope === 'string') {
    const query = { ...ctx.query };
    if (optionFor(query.client_id, 'strip_offline_access', false)) {
      query.scope = dropOfflineAccess(query.scope);
    } else if (query.scope.split(' ').includes('offline_access') && query.prompt === undefined) {
      query.prompt = 'consent';
    }
    // Keep req.originalUrl = <mount path> + req.url: the provider's URLs depend on it.
    const { originalUrl = ctx.req.url } = ctx.req;
    const mountPath = originalUrl.slice(0, originalUrl.length - ctx.req.url.length);
    ctx.querystring = querystring.stringify(query);
    ctx.req.originalUrl = mountPath + ctx.req.url;
  }
  return next();
}

async function countRequests(ctx, next) {
  if (ctx.method === 'POST' && (ctx.path === '/token' || ctx.path === '/device/auth')) {
    try {
      await next();
    } finally {
      const route = ctx.path === '/token' ? 'token' : 'device_authorization';
      const clientId = ctx.oidc?.client?.clientId || ctx.oidc?.params?.client_id;
      count(route, clientId, ctx.oidc?.params?.grant_type, ctx.status);
    }
    return undefined;
  }
  return next();
}

// The provider's device authorization response has no "interval"; clients then poll
// every 5 s. Advertise a short one so the tests stay fast.
async function addDeviceInterval(ctx, next) {
  await next();
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body.interval = cfg.device_interval ?? 1;
  }
}

async function testEndpoints(ctx, next) {
  if (ctx.path === '/_test/stats' && ctx.method === 'GET') {
    ctx.type = 'json';
    ctx.body = statsAsList();
    return undefined;
  }
  if (ctx.path === '/_test/stats/reset' && ctx.method === 'POST') {
    stats = {};
    ctx.status = 204;
    return undefined;
  }
  return next();
}

// ---- the provider ---------------------------------------------------------------------
function accessTokenTtl(client) {
  return optionFor(client?.clientId, 'access_token_ttl', cfg.access_token_ttl ?? 3600);
}

function buildConfiguration() {
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  return {
    clients: cfg.clients,
    jwks: { keys: [{ ...signingKey.export({ format: 'jwk' }), use: 'sig', kid: 'interop-rs256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    async findAccount(_ctx, sub) {
      if (sub !== user.login) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { sub, preferred_username: user.login, ...(user.claims || {}) };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      // RFC 9449: proofs checked, tokens bound (cnf.jkt); a client with the
      // dpop_require_nonce option must put the provider's DPoP-Nonce in its proofs.
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: (ctx) => optionFor(ctx.oidc?.client?.clientId, 'dpop_require_nonce', false),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf || resource.indicator,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator, client) => {
          if (indicator !== resource.indicator) throw new Provider.errors.InvalidTarget();
          return {
            scope: resource.scopes.join(' '),
            audience: resource.indicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl(client),
          };
        },
      },
    },
    // DPoP proof algorithms (the provider's default list is ES256, Ed25519, EdDSA);
    // RS256 stays out so that a client's handling of an unlisted algorithm is tested
    enabledJWA: { dPoPSigningAlgValues: ['ES256', 'EdDSA', 'PS256'] },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx, client, source) => client.grantTypeAllowed('refresh_token')
      && (source.scopes.has('offline_access')
        || optionFor(client.clientId, 'strip_offline_access', false)),
    rotateRefreshToken: cfg.rotate_refresh_tokens ?? true,
    ttl: {
      AccessToken: (_ctx, _token, client) => accessTokenTtl(client),
      ClientCredentials: (_ctx, _token, client) => accessTokenTtl(client),
      DeviceCode: 600,
      Grant: 3600,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 86400,
      Session: 3600,
    },
  };
}

const server = https.createServer({
  cert: readFileSync(cfg.tls.cert),
  key: readFileSync(cfg.tls.key),
});
// Mount the provider at `prefix` the way Express/koa-mount do: the provider derives
// its URLs from req.originalUrl minus req.url.
function mounted(prefix, handler) {
  return (req, res) => {
    if (req.url === prefix || req.url.startsWith(`${prefix}/`) || req.url.startsWith(`${prefix}?`)) {
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
      if (req.url.startsWith('?')) req.url = `/${req.url}`;
      handler(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  };
}

server.listen(cfg.port ?? 0, cfg.host ?? '127.0.0.1', () => {
  const { port } = server.address();
  const prefix = (cfg.path ?? '/oidc').replace(/\/+$/, '');
  const issuer = `https://${cfg.host ?? '127.0.0.1'}:${port}${prefix}`;
  const provider = new Provider(issuer, buildConfiguration());
  provider.proxy = false;
  provider.use(testEndpoints);
  provider.use(countRequests);
  provider.use(addDeviceInterval);
  provider.use(checkPassword);
  provider.use(offlineAccessPolicy);
  // RFC 7523 section 3 lets a server reject a reused client assertion (jti), and the
  // provider does. MSAL reuses its assertion for ~9 minutes; a client configured with
  // accept_assertion_replay is let through, as Microsoft Entra ID does.
  const { unique } = provider.ReplayDetection;
  provider.ReplayDetection.unique = async function uniqueUnlessLenient(iss, jti, exp) {
    if (optionFor(iss, 'accept_assertion_replay', false)) return true;
    return unique.call(this, iss, jti, exp);
  };
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  server.on('request', prefix ? mounted(prefix, provider.callback()) : provider.callback());
  console.log(`TOKENSMITH-INTEROP-READY ${JSON.stringify({ issuer, port })}`);
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// With INTEROP_EXIT_WITH_PARENT=1 the parent holds our stdin open; when it goes away
// (even killed with SIGKILL) stdin ends and so do we: no provider outlives its tests.
if (process.env.INTEROP_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
