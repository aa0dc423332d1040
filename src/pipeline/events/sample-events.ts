/**
 * The shipped sample payloads as normalized events of the configured sources,
 * and herald's own alerts: what `herald check` renders every template against,
 * and what `herald rules test --sample` routes.
 */
import type { MediaConfig, SourceConfig } from '../../core/config.js';
import { HERALD, type NormalizedEvent } from '../../core/event.js';
import type { AlertType } from '../../providers/herald.js';
import type { Provider } from '../../providers/provider.js';
import { loadSample, loadSampleSession, sampleTypes } from '../../providers/samples.js';
import { alertEvent, type AlertData } from '../alerts/alert-event.js';
import { enriched, enrichesType } from '../stages/enrich.js';
import { archivesMedia, withArchive } from '../stages/media-archive.js';
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

/**
 * One event per shipped sample per configured source. With a media archive,
 * each media sample comes three times: archived (with a sample link), given up
 * on, and as received, so templates are checked on every branch they may see.
 */
export function sampleEvents(sources: Record<string, SourceConfig>, providers: Record<string, Provider>, media?: MediaConfig): SampleEvent[] {
  return Object.values(sources).flatMap((source) =>
    sampleTypes(source.provider).flatMap((type) => {
      const label = `${source.name} (${source.provider}) ${type}`;
      const event = sampleEvent(source, providers[source.provider]!, type);
      if (!archivesMedia(media, event)) return [{ label, event }];
      return [
        { label: `${label} (archived)`, event: sampleArchived(event) },
        { label: `${label} (not archived)`, event: withArchive(event, null, 'the media host answered HTTP 403') },
        { label, event },
      ];
    }),
  );
}

/** A media sample as herald archived it, with a link as templates see it. */
function sampleArchived(event: NormalizedEvent): NormalizedEvent {
  const archivedAt = event.receivedAt;
  return withArchive(
    event,
    {
      id: event.id,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      bytes: 48213,
      contentType: event.media!.contentType ?? 'image/jpeg',
      archivedAt,
      url: `https://herald.example.com/media/${event.id}?exp=1767225600&sig=sample`,
      linkExpires: '2026-01-01T00:00:00.000Z',
    },
    null,
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
