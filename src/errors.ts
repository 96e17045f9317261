/**
 * The one error catalog. Every error a caller can see has a stable `code`, an HTTP status and a
 * message that says what was wrong and what to do about it.
 */
export const ERRORS = {
  empty_body: {
    status: 400,
    message: 'The request has no body and no query parameters: send the notification as a JSON body, a form body or a query string.',
  },
  invalid_json: {
    status: 400,
    message: 'The body is not valid JSON: send one JSON object, as the platform does.',
  },
  not_an_object: {
    status: 400,
    message: 'The body is JSON but not an object: a notification is one JSON object such as {"type":"cdr",…}.',
  },
  undecodable_body: {
    status: 400,
    message: 'The body is neither JSON nor form data: send application/json or application/x-www-form-urlencoded.',
  },
  unparseable: {
    status: 400,
    message: 'The notification could not be read: it is kept for inspection.',
  },
  payload_too_large: {
    status: 413,
    message: 'The body is larger than the configured limit (CALLHOOK_BODY_LIMIT): notifications are a few hundred bytes.',
  },
  method_not_allowed: {
    status: 405,
    message: 'Webhooks are received with POST or GET only.',
  },
  unauthorized_webhook: {
    status: 401,
    message: 'The webhook URL needs its secret: add ?token=<CALLHOOK_WEBHOOK_TOKEN> to the URL configured on the platform.',
  },
  forbidden_address: {
    status: 403,
    message: 'The sender address is not in CALLHOOK_WEBHOOK_ALLOW.',
  },
  unauthorized: {
    status: 401,
    message: 'Send the API token as "Authorization: Bearer <token>" (CALLHOOK_API_TOKEN, or the token printed at start-up).',
  },
  cross_site_request: {
    status: 403,
    message: 'A request signed in by the dashboard cookie came from another site (its Origin is not this server): use the dashboard itself, or send the API token as a Bearer header.',
  },
  not_found: {
    status: 404,
    message: 'Nothing is stored under that id.',
  },
  invalid_cursor: {
    status: 400,
    message: 'The cursor is not one this API returned: pass next_cursor from a previous page unchanged.',
  },
  invalid_request: {
    status: 400,
    message: 'The request does not match the route schema.',
  },
  invalid_time_zone: {
    status: 400,
    message: 'tz must be an IANA time-zone name such as UTC, Europe/London or Asia/Kolkata.',
  },
  invalid_range: {
    status: 400,
    message: 'since must be before until, and the range at most 400 days: give both as ISO 8601 times.',
  },
  already_resolved: {
    status: 409,
    message: 'This callback item is already resolved: a new missed call opens a new one.',
  },
  invalid_destination: {
    status: 400,
    message: 'The destination is not usable: give an http(s) URL, kinds such as cdr.* or call.updated, and header names other than webhook-*, content-type, content-length, host and user-agent.',
  },
  replay_too_large: {
    status: 400,
    message: 'The replay would queue more deliveries than CALLHOOK_FORWARD_REPLAY_MAX: narrow since/until or kinds, or replay in parts.',
  },
  delivery_in_flight: {
    status: 409,
    message: 'The delivery is being sent right now: retry it once this attempt is recorded.',
  },
  handler_failed: {
    status: 500,
    message: 'A webhook handler threw: see onError and the server log.',
  },
  database_unavailable: {
    status: 503,
    message: 'The database is not answering: the platform will deliver again, and callhook recovers when it is back.',
  },
  internal: {
    status: 500,
    message: 'An unexpected error happened: it is in the server log.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** An error carrying a catalog code; `detail` adds what was specific to this occurrence. */
export class CallhookError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(errorMessage(code, detail), options);
    this.name = 'CallhookError';
    this.code = code;
    this.status = ERRORS[code].status;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export function errorMessage(code: ErrorCode, detail?: string): string {
  return detail ? `${ERRORS[code].message} (${detail})` : ERRORS[code].message;
}

export function errorBody(code: ErrorCode, detail?: string): ErrorBody {
  return { code, message: errorMessage(code, detail) };
}
