/** A rule as written in rules/*.yaml, and as compiled for routing. */
import type { BatchSpec } from './batching.js';
import type { Logic } from './json-logic.js';

/**
 * The event fields `match` can name; each takes a value, a list (any of), or a
 * `prefix*` glob. `session.status` is FaceSign's session status, on events its
 * session API enriched (pipeline/stages/enrich.ts); null on the others.
 */
export const MATCH_FIELDS = ['source', 'provider', 'type', 'category', 'outcome', 'session.status'] as const;
export type MatchField = (typeof MATCH_FIELDS)[number];
export type MatchValue = string | null | Array<string | null>;

export interface Notify {
  /** A destination name from the config. */
  to: string;
  /** A template folder name under templates/. */
  template: string;
}

export interface Rule {
  name: string;
  /** The rule file and the rule's index in it, for error messages. */
  file: string;
  index: number;
  /** Position in the whole rule set: files in name order, rules in file order. */
  order: number;
  match: Partial<Record<MatchField, MatchValue>>;
  when?: Logic;
  notify: Notify[];
  stop: boolean;
  enabled: boolean;
  /** Whether this rule's templates see personal fields. */
  pii: 'redact' | 'include' | undefined;
  /** `match` and `when` as one JSON-logic expression. */
  condition: Logic;
  /** How its events are batched (group, digest, throttle); undefined: a message per event. */
  batching?: BatchSpec;
}
