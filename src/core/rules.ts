/** A rule as written in a rules/*.yaml file, after schema validation (defaults filled). */
import type { ThreadBy } from './config.js';

export type { ThreadBy };

/**
 * The template of a notify entry that names none (the rules schema's
 * default): a webhook sends the whole event, or for a batch its group and
 * events, as it does from a template folder without webhook.yaml. Slack and
 * email need a template of their own. Stored as the delivery's template.
 */
export const WHOLE_EVENT_TEMPLATE = '(event)';

export interface NotifyDefinition {
  /** A destination name from the config. */
  to: string;
  /** A template folder name under templates/; WHOLE_EVENT_TEMPLATE when the entry names none. */
  template: string;
  /** email, slack-app: what makes messages one thread (README, "Threads"); false: none. Overrides the destination's. */
  threadBy?: ThreadBy;
  /** slack-app: a reply is also shown in the channel. */
  broadcast?: boolean;
  /** slack-app: the thread's first message is edited to show the latest one. */
  updateParent?: boolean;
}

/** `group:` of a rule (defaults filled by the schema). */
export interface GroupDefinition {
  by: string[];
  wait: string;
  interval: string;
  max: number;
}

/** `digest:` of a rule: `at` (cron, in `timezone`) or `every`. */
export interface DigestDefinition {
  at?: string;
  timezone?: string;
  every?: string;
  sendEmpty: boolean;
  max: number;
}

/** `throttle:` of a rule. */
export interface ThrottleDefinition {
  by?: string[];
  max: number;
  per: string;
}

export interface RuleDefinition {
  /** The rule file it came from, and its index in that file. */
  file: string;
  index: number;
  name: string;
  description?: string;
  /** Field -> value, list of values, or `prefix*` glob. */
  match?: Record<string, string | null | Array<string | null>>;
  /** Any JSON-logic expression. */
  when?: unknown;
  notify: NotifyDefinition[];
  stop: boolean;
  enabled: boolean;
  pii?: 'redact' | 'include';
  group?: GroupDefinition;
  digest?: DigestDefinition;
  throttle?: ThrottleDefinition;
}

/** What a batch needs to know about its rule; JSON, stored with the batch. */
export interface BatchSpec {
  /** group: wait, then one message per interval; digest: one per period; throttle: one per event, throttled. */
  kind: 'group' | 'digest' | 'throttle';
  /** The attribute paths of the key: group.by (or none for a digest) then throttle.by. */
  by: string[];
  /** Events listed per message (1 for a throttle alone). */
  max: number;
  waitMs?: number;
  intervalMs?: number;
  digest?: { at?: string; timezone?: string; everyMs?: number; sendEmpty: boolean };
  throttle?: { max: number; perMs: number };
  /** The rule's `pii`: which view of the events its templates see. */
  pii?: 'redact' | 'include';
}
