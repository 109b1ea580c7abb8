/** Why a webhook request was refused: an HTTP status, a stable machine reason (a metric label), and a message. */
export type RejectionReason =
  | 'missing_signature'
  | 'malformed_signature'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'malformed_json'
  | 'not_an_event'
  | 'too_large'
  | 'missing_key'
  | 'bad_key';

export class WebhookRejection extends Error {
  constructor(
    readonly status: number,
    readonly reason: RejectionReason,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookRejection';
  }
}
