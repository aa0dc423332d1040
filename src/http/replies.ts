/**
 * Short, generic reply bodies. A reply never says which check failed
 * (README, "How a request is handled"): the reason goes to the log, not to the sender.
 */
export const REPLY_BODIES: Record<number, { error: string }> = {
  400: { error: 'malformed request' },
  401: { error: 'unauthorized' },
  403: { error: 'forbidden' },
  404: { error: 'not found' },
  405: { error: 'method not allowed' },
  413: { error: 'payload too large' },
  415: { error: 'unsupported media type: send application/json' },
  422: { error: 'invalid payload' },
  500: { error: 'internal error' },
  503: { error: 'temporarily unavailable, retry later' },
};
