/**
 * The shipped sample payloads as normalized events of the configured sources,
 * and herald's own alerts: what `herald check` renders every template against,
 * and what `herald rules test --sample` routes.
 */
import type { SourceConfig } from '../../core/config.js';
import { HERALD, type NormalizedEvent } from '../../core/event.js';
import type { AlertType } from '../../providers/herald.js';
import type { Provider } from '../../providers/provider.js';
import { loadSample, loadSampleSession, sampleTypes } from '../../providers/samples.js';
import { alertEvent, type AlertData } from '../alerts/alert-event.js';
import { enriched, enrichesType } from '../stages/enrich.js';
import { normalizeEvent } from './normalize.js';

export interface SampleEvent {
  /** e.g. `kyc legaltalent kyc.session.rejected` */
  label: string;
  event: NormalizedEvent;
}

/** The sample of `type` as received on `source`; enriched with the sample session when the source enriches that type. */
export function sampleEvent(source: SourceConfig, provider: Provider, type: string, nowMs = Date.now()): NormalizedEvent {
  const payload = loadSample(provider.id, type);
  const event = normalizeEvent(source, provider, payload, { body: Buffer.from(JSON.stringify(payload)), headers: {} }, nowMs);
  return enrichesType(source, type) ? enriched(event, 1, loadSampleSession(), nowMs, null) : event;
}

/** One event per shipped sample per configured source. */
export function sampleEvents(sources: Record<string, SourceConfig>, providers: Record<string, Provider>): SampleEvent[] {
  return Object.values(sources).flatMap((source) =>
    sampleTypes(source.provider).map((type) => ({
      label: `${source.name} (${source.provider}) ${type}`,
      event: sampleEvent(source, providers[source.provider]!, type),
    })),
  );
}

/** herald's alert of `type`, from samples/herald/<type>.json (the alert's `data`). */
export function sampleAlertEvent(type: string, nowMs = Date.now()): NormalizedEvent {
  return alertEvent(type as AlertType, loadSample(HERALD, type) as AlertData, nowMs);
}

/** One event per shipped sample of herald's alerts. */
export function sampleAlertEvents(): SampleEvent[] {
  return sampleTypes(HERALD).map((type) => ({ label: `${HERALD} ${type}`, event: sampleAlertEvent(type) }));
}
