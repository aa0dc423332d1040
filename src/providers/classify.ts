/** Maps an event type to its category and outcome (the README's table). */
import type { Category } from '../core/event.js';
import { ownValue } from '../core/own.js';
import type { Provider, TypeClass } from './provider.js';

/** Category of an unknown type, from its first dotted segment. */
const CATEGORY_BY_PREFIX: Record<string, Category> = {
  session: 'verification',
  verification: 'verification',
  review: 'verification',
  kyc: 'verification',
  media: 'media',
  analysis: 'analysis',
  settings: 'settings',
  watchlist: 'watchlist',
};

/**
 * Known types come from the provider's table; unknown ones get a category from
 * their prefix and no outcome. Any string is a type: `constructor` or
 * `__proto__` is an unknown type like any other (own properties only).
 */
export function classifyType(provider: Provider, type: string): TypeClass {
  const known = ownValue(provider.knownTypes, type);
  if (known) return known;
  const prefix = type.split('.')[0] ?? '';
  return { category: ownValue(CATEGORY_BY_PREFIX, prefix) ?? provider.defaultCategory, outcome: null };
}
