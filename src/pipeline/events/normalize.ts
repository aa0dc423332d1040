/** Builds the normalized event from a verified, schema-valid payload. */
import type { SourceConfig } from '../../core/config.js';
import type { NormalizedEvent } from '../../core/event.js';
import { newEventId } from '../../core/ids.js';
import type { IncomingWebhook, Provider } from '../../providers/provider.js';

export function normalizeEvent(
  source: SourceConfig,
  provider: Provider,
  payload: Record<string, unknown>,
  req: IncomingWebhook,
  receivedAtMs: number,
): NormalizedEvent {
  return {
    specversion: '1.0',
    id: newEventId(),
    source: source.name,
    provider: provider.id,
    ...provider.normalize(payload, req, receivedAtMs),
    receivedAt: new Date(receivedAtMs).toISOString(),
    datacontenttype: 'application/json',
    data: payload,
  };
}
