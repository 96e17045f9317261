import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { errorBody } from '../errors.js';
import { expiryIsValid, matchesAnySecret, signExpiry } from '../secrets.js';
import { ErrorResponse } from './schemas.js';

const SESSION_COOKIE = 'callhook_session';
const SESSION_PURPOSE = 'dashboard sessions';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SessionState = Type.Object({ signed_in: Type.Boolean() });

function bearerOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : null;
}

/**
 * A dashboard session is a signed expiry in an HttpOnly, SameSite=Strict cookie: no storage, so
 * every instance on a shared database accepts it. Signing out clears the cookie; changing the API
 * token ends every session at once.
 */
function hasSession(request: FastifyRequest, apiToken: string): boolean {
  const value = request.cookies[SESSION_COOKIE];
  return value !== undefined && expiryIsValid(apiToken, SESSION_PURPOSE, value);
}

/**
 * Whether a request that changes something, authenticated by the cookie, comes from this server's
 * own pages. SameSite=Strict already keeps the cookie off other sites' requests; the Origin check
 * also covers sibling subdomains, which count as the same site.
 */
function sameOrigin(request: FastifyRequest): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const origin = request.headers.origin;
  if (origin === undefined) return request.headers['sec-fetch-site'] === undefined || request.headers['sec-fetch-site'] === 'same-origin';
  try {
    return new URL(origin).host === request.host;
  } catch {
    return false;
  }
}

/** `Authorization: Bearer <token>` compared in constant time, or a dashboard session; 401 otherwise. */
export function requireApiToken(token: string) {
  const tokens = [token];
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (matchesAnySecret(bearerOf(request), tokens)) return;
    if (hasSession(request, token)) {
      if (sameOrigin(request)) return;
      return reply.code(403).send({ ok: false, error: errorBody('cross_site_request') });
    }
    return reply.code(401).header('www-authenticate', 'Bearer').send({ ok: false, error: errorBody('unauthorized') });
  };
}

/** Whether the request carries the token or a session, for routes that authenticate themselves. */
export function isAuthenticated(request: FastifyRequest, token: string): boolean {
  return matchesAnySecret(bearerOf(request), [token]) || hasSession(request, token);
}

/** POST /api/session signs in with the API token; DELETE signs out; GET says whether signed in. */
export async function sessionRoutes(fastify: FastifyInstance, opts: { apiToken: string; sessionHours: number }): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { apiToken } = opts;
  const cookieOptions = (request: FastifyRequest) => ({
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    // behind a TLS-terminating proxy this needs CALLHOOK_TRUST_PROXY, so that the protocol is known
    secure: request.protocol === 'https',
  });

  app.post('/api/session', {
    schema: {
      summary: 'Sign in to the dashboard: the API token in, an HttpOnly session cookie out',
      security: [],
      body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 1000 }) }),
      response: { 200: Type.Object({ expires_at: Type.String() }), 401: ErrorResponse, 403: ErrorResponse },
    },
  }, async (request, reply) => {
    if (!sameOrigin(request)) return reply.code(403).send({ ok: false, error: errorBody('cross_site_request') });
    if (!matchesAnySecret(request.body.token, [apiToken])) {
      return reply.code(401).send({ ok: false, error: errorBody('unauthorized', 'that is not the API token') });
    }
    const expires = Date.now() + opts.sessionHours * 3_600_000;
    reply.setCookie(SESSION_COOKIE, signExpiry(apiToken, SESSION_PURPOSE, expires), { ...cookieOptions(request), expires: new Date(expires) });
    return { expires_at: new Date(expires).toISOString() };
  });

  app.delete('/api/session', {
    schema: { summary: 'Sign out of the dashboard', security: [], response: { 200: SessionState } },
  }, async (request, reply) => {
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    return { signed_in: false };
  });

  app.get('/api/session', {
    schema: { summary: 'Whether this browser is signed in', security: [], response: { 200: SessionState } },
  }, async (request) => ({ signed_in: hasSession(request, apiToken) }));
}
