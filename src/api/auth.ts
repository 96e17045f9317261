import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../errors.js';
import { matchesAnySecret } from '../secrets.js';

/** `Authorization: Bearer <token>`, compared in constant time; 401 otherwise. */
export function requireApiToken(token: string) {
  const tokens = [token];
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7).trim() : null;
    if (!matchesAnySecret(given, tokens)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ ok: false, error: errorBody('unauthorized') });
    }
  };
}
