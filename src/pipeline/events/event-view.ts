/**
 * The event as a rule and its templates see it: personal fields redacted unless
 * the source or the rule opts in with `pii: include` (docs/providers.md,
 * "FACEIO": clientIp, gender and age are biometric context).
 */
import type { SourceConfig } from '../../core/config.js';
import type { NormalizedEvent } from '../../core/event.js';
import { redactPaths } from '../../core/redact.js';
import type { ProviderProfile } from '../../providers/provider.js';

export function eventView(
  event: NormalizedEvent,
  provider: ProviderProfile,
  source: SourceConfig | undefined,
  rulePii?: 'redact' | 'include',
): NormalizedEvent {
  const include = rulePii === 'include' || (rulePii === undefined && source?.pii === 'include');
  return include
    ? event
    : redactPaths(
        event,
        provider.personalFields.map((field) => `data.${field}`),
      );
}
