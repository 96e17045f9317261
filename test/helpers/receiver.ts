import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  /** The order requests arrived in, across the whole receiver. */
  seq: number;
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answers (the sender's timeout must end it). */
  hang?: boolean;
}

/** How the receiver answers a request: by the message id, how many times it has seen it, and its data. */
export type Responder = (id: string, seen: number, data: Record<string, unknown>) => Answer;

export interface Receiver {
  url: string;
  received: Received[];
  respond: Responder;
  /** 2xx answers per webhook-id. */
  accepted: () => Map<string, number>;
  close: () => Promise<void>;
}

/** A real local HTTP server standing in for a CRM: records every request and answers as told. */
export async function startReceiver(respond: Responder = () => ({ status: 200 }), port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const seen = new Map<string, number>();
  const hanging = new Set<() => void>();
  const receiver: Receiver = {
    url: '',
    received,
    respond,
    accepted: () => {
      const out = new Map<string, number>();
      for (const r of received) if (r.status >= 200 && r.status < 300) out.set(r.id, (out.get(r.id) ?? 0) + 1);
      return out;
    },
    close: async () => {
      for (const end of hanging) end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      const parsed = JSON.parse(body) as { type: string; data: Record<string, unknown> };
      const answer = receiver.respond(id, n, parsed.data);
      received.push({ headers: req.headers, body, status: answer.status, seq: received.length, id, type: parsed.type, data: parsed.data });
      if (answer.hang) {
        const end = () => res.destroy();
        hanging.add(end);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

/** Verifies a received request with the Standard Webhooks library; throws when it does not verify. */
export function verify(secret: string, r: Pick<Received, 'headers' | 'body'>): unknown {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') headers[k] = v;
  return new Webhook(secret).verify(r.body, headers);
}
