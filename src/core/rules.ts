/** A rule as written in a rules/*.yaml file, after schema validation (defaults filled). */
import type { ThreadBy } from './config.js';

export type { ThreadBy };

export interface NotifyDefinition {
  /** A destination name from the config. */
  to: string;
  /** A template folder name under templates/. */
  template: string;
  /** email, slack-app: what makes messages one thread (README, "Threads"); false: none. Overrides the destination's. */
  threadBy?: ThreadBy;
  /** slack-app: a reply is also shown in the channel. */
  broadcast?: boolean;
  /** slack-app: the thread's first message is edited to show the latest one. */
  updateParent?: boolean;
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
}
