import type { Event } from '../payloads/event-schema.js';
import type { EventKind, Platform } from '../payloads/kinds.js';

type KindParts<K extends EventKind> = K extends `${infer T}.${infer D}.${infer S}`
  ? { type: T; direction: D extends 'none' ? null : D; status: S }
  : { type: string | null; direction: string | null; status: string | null; unknown_reason: string };

/** The event a handler for kind `K` receives: `kind`, `type`, `direction` and `status` narrowed. */
export type EventOf<K extends EventKind> = Omit<Event, 'kind' | 'type' | 'direction' | 'status'> & { kind: K } & KindParts<K>;

export type Handler<E> = (event: E) => unknown;

/** What `onError` receives: every handler error of one delivery, and the event. */
export class WebhookHandlerError extends AggregateError {
  constructor(
    errors: unknown[],
    readonly event: Event,
  ) {
    super(errors, `${errors.length} webhook handler(s) failed for ${event.kind}: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
    this.name = 'WebhookHandlerError';
  }
}

export interface WebhooksOptions {
  /** Shared secret(s) expected as ?token= on the webhook URL; several allow rotation. */
  token?: string | readonly string[];
  /** Sets the platform when the fields would not tell it. */
  platform?: Platform;
}

/**
 * Typed handlers for TeleCMI and PIOPIY notifications.
 *
 * @example
 * const webhooks = new Webhooks();
 * webhooks.on('cdr.inbound.missed', (cdr) => console.log(cdr.from, cdr.waited_sec));
 */
export class Webhooks {
  readonly tokens: readonly string[];
  readonly platform: Platform | undefined;
  private readonly handlers = new Map<EventKind | '*', Set<Handler<never>>>();
  private readonly errorHandlers = new Set<(error: WebhookHandlerError) => unknown>();

  constructor(options: WebhooksOptions = {}) {
    const token = options.token;
    this.tokens = token === undefined ? [] : typeof token === 'string' ? [token] : [...token];
    this.platform = options.platform;
  }

  on<K extends EventKind>(kind: K | readonly K[], handler: Handler<EventOf<K>>): this {
    for (const k of typeof kind === 'string' ? [kind] : kind) this.listeners(k).add(handler as Handler<never>);
    return this;
  }

  onAny(handler: Handler<Event>): this {
    this.listeners('*').add(handler as Handler<never>);
    return this;
  }

  onError(handler: (error: WebhookHandlerError) => unknown): this {
    this.errorHandlers.add(handler);
    return this;
  }

  removeListener<K extends EventKind>(kind: K | readonly K[] | '*', handler: Handler<EventOf<K>> | Handler<Event>): this {
    for (const k of typeof kind === 'string' ? [kind] : kind) this.handlers.get(k)?.delete(handler as Handler<never>);
    return this;
  }

  /** Runs every handler for the event's kind and every onAny handler; rejects if any failed. */
  async receive(event: Event): Promise<void> {
    const handlers = [...(this.handlers.get(event.kind) ?? []), ...(this.handlers.get('*') ?? [])] as Handler<Event>[];
    const results = await Promise.allSettled(handlers.map(async (h) => h(event)));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length === 0) return;
    const error = new WebhookHandlerError(errors, event);
    await Promise.allSettled([...this.errorHandlers].map(async (h) => h(error)));
    throw error;
  }

  private listeners(kind: EventKind | '*'): Set<Handler<never>> {
    let set = this.handlers.get(kind);
    if (!set) this.handlers.set(kind, (set = new Set()));
    return set;
  }
}
