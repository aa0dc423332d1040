/**
 * `POST /webhooks/<source>`: the HTTP side of ingest. Before any domain code it
 * checks the route, the content type and the declared length; it reads the raw
 * body under the size limit (never more), hands the bytes to ingest, and replies
 * only after the event is stored.
 */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import type { Logger } from 'pino';
import { RequestRejectedError, StoreUnavailableError, type RejectionReason } from '../core/errors.js';
import type { Ingest } from '../pipeline/stages/ingest.js';
import type { HeraldMetrics } from '../pipeline/mechanisms/metrics.js';
import { REPLY_BODIES } from './replies.js';

/** JSON in UTF-8 (RFC 8259 §8.1): `application/json`, optionally with `charset=utf-8`, nothing else. */
const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export interface ReceiverOptions {
  ingest: Ingest;
  bodyLimitBytes: number;
  log: Logger;
  metrics?: HeraldMetrics;
}

function reply(ctx: Context, status: number): void {
  ctx.status = status;
  ctx.body = REPLY_BODIES[status];
}

/** Reads the raw body, refusing before reading when Content-Length is over the limit. */
async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  try {
    return await getRawBody(ctx.req, { limit, length: ctx.get('content-length') || undefined });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === 'entity.too.large') throw new RequestRejectedError(413, 'body-too-large');
    throw new RequestRejectedError(400, 'malformed-json', type ?? 'unreadable body');
  }
}

export function webhookReceiver({ ingest, bodyLimitBytes, log, metrics }: ReceiverOptions) {
  return async function receiveWebhook(ctx: Context): Promise<void> {
    const source = (ctx.params as { source: string }).source;
    const started = performance.now();
    let reason: RejectionReason | 'stored' | 'duplicate' | 'unknown-source' | 'store-unavailable' = 'unknown-source';
    let eventId: string | undefined;
    try {
      if (!ingest.hasSource(source)) return reply(ctx, 404);
      if (!JSON_CONTENT_TYPE.test(ctx.get('content-type'))) {
        throw new RequestRejectedError(415, 'unsupported-media-type');
      }
      const body = await readBody(ctx, bodyLimitBytes);
      const result = await ingest.receive(source, { body, headers: ctx.req.headers });
      reason = result.status;
      eventId = result.id;
      ctx.status = 200;
      ctx.body = { status: result.status === 'stored' ? 'accepted' : 'duplicate' };
    } catch (error) {
      if (error instanceof RequestRejectedError) {
        reason = error.reason;
        // The rest of an oversized body is never read: close the connection instead.
        if (error.status === 413) ctx.set('Connection', 'close');
        return reply(ctx, error.status);
      }
      if (error instanceof StoreUnavailableError) {
        reason = 'store-unavailable';
        log.error({ err: error.message, source }, 'event could not be stored');
        return reply(ctx, 503);
      }
      throw error;
    } finally {
      // Only configured names become label values: a stranger cannot grow the label set.
      metrics?.requests.inc({ source: ingest.hasSource(source) ? source : 'unknown', status: String(ctx.status) });
      log.info({ source, status: ctx.status, reason, eventId, ms: Math.round(performance.now() - started) }, 'webhook');
    }
  };
}
