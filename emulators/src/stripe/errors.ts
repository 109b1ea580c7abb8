/**
 * Stripe's error model: every failure the emulator answers with is a StripeApiError, rendered as
 * `{ error: { type, code, message, param, doc_url, ... } }` with the HTTP status Stripe uses for it.
 */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

export interface StripeErrorInit {
  status: number;
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  /** Extra members of the error object (card errors carry charge, decline_code, payment_intent...). */
  extra?: Record<string, unknown>;
  /** Whether an idempotent replay of this request should return this same answer. */
  replayable?: boolean;
}

export class StripeApiError extends Error {
  readonly status: number;
  readonly type: StripeErrorType;
  readonly code?: string;
  readonly param?: string;
  readonly extra: Record<string, unknown>;
  readonly replayable: boolean;

  constructor(init: StripeErrorInit) {
    super(init.message);
    this.name = 'StripeApiError';
    this.status = init.status;
    this.type = init.type;
    this.code = init.code;
    this.param = init.param;
    this.extra = init.extra ?? {};
    this.replayable = init.replayable ?? false;
  }

  toJSON(): { error: Record<string, unknown> } {
    const error: Record<string, unknown> = { type: this.type, message: this.message };
    if (this.code) {
      error.code = this.code;
      error.doc_url = `https://stripe.com/docs/error-codes/${this.code.replace(/_/g, '-')}`;
    }
    if (this.param) error.param = this.param;
    Object.assign(error, this.extra);
    return { error };
  }
}

export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError({ status: 400, type: 'invalid_request_error', message, param, code });
}

export function missingParam(param: string): StripeApiError {
  return new StripeApiError({
    status: 400,
    type: 'invalid_request_error',
    code: 'parameter_missing',
    param,
    message: `Missing required param: ${param}.`,
  });
}

/** A path that names an object that does not exist (404), e.g. GET /v1/customers/cus_nope. */
export function noSuchObject(objectType: string, id: string, param?: string): StripeApiError {
  return new StripeApiError({
    status: 404,
    type: 'invalid_request_error',
    code: 'resource_missing',
    param: param ?? 'id',
    message: `No such ${objectType.replace(/_/g, '')}: '${id}'`,
  });
}

/** A body parameter that refers to an object that does not exist: Stripe answers 400, not 404. */
export function noSuchReference(objectType: string, id: string, param: string): StripeApiError {
  return new StripeApiError({
    status: 400,
    type: 'invalid_request_error',
    code: 'resource_missing',
    param,
    message: `No such ${objectType.replace(/_/g, '')}: '${id}'`,
  });
}

export function unexpectedState(message: string, code = 'payment_intent_unexpected_state', param?: string) {
  return new StripeApiError({
    status: 400,
    type: 'invalid_request_error',
    code,
    message,
    param,
    replayable: true,
  });
}
