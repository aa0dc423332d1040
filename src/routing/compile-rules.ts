/**
 * Turns rule definitions into compiled rules, checking what a schema cannot:
 * unique names, known destinations and templates (with the files the
 * destination's channel needs), and JSON-logic operators that exist.
 */
import type { DestinationType } from '../core/config.js';
import { messageChannelOf, type ChannelType } from '../core/message.js';
import { WHOLE_EVENT_TEMPLATE, type RuleDefinition } from '../core/rules.js';
import { compileBatching } from './batching.js';
import type { Logic } from './json-logic.js';
import { unknownOperators } from './json-logic.js';
import { compileCondition } from './match.js';
import type { MatchField, MatchValue, Rule } from './rule.js';

/** What the rules may refer to. */
export interface RuleReferences {
  /** Destination name -> its type. */
  destinations: ReadonlyMap<string, DestinationType>;
  /** Template name -> the channels it has files for. */
  templates: ReadonlyMap<string, readonly ChannelType[]>;
}

export interface RuleProblem {
  rule: RuleDefinition;
  /** Path inside the rule, e.g. ['notify', 0, 'to']. */
  path: Array<string | number>;
  message: string;
}

const known = (names: Iterable<string>) => [...names].sort().join(', ') || 'none';

export function compileRules(definitions: readonly RuleDefinition[], refs: RuleReferences): { rules: Rule[]; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const seen = new Map<string, RuleDefinition>();
  const rules: Rule[] = [];

  definitions.forEach((def, order) => {
    const first = seen.get(def.name);
    if (first) {
      problems.push({
        rule: def,
        path: ['name'],
        message: `rule "${def.name}" is already defined (${first.file}, rule ${first.index + 1}): rule names must be unique`,
      });
    } else {
      seen.set(def.name, def);
    }

    def.notify.forEach((notify, i) => {
      const type = refs.destinations.get(notify.to);
      const channel = type === undefined ? undefined : messageChannelOf(type);
      if (type === undefined) {
        problems.push({
          rule: def,
          path: ['notify', i, 'to'],
          message: `unknown destination "${notify.to}": the config defines ${known(refs.destinations.keys())}`,
        });
      }
      const channels: readonly ChannelType[] | undefined = notify.template === WHOLE_EVENT_TEMPLATE ? ['webhook'] : refs.templates.get(notify.template);
      if (channels === undefined) {
        problems.push({
          rule: def,
          path: ['notify', i, 'template'],
          message: `unknown template "${notify.template}": templates/ has ${known(refs.templates.keys())}`,
        });
      } else if (channel !== undefined && !channels.includes(channel)) {
        problems.push({
          rule: def,
          path: ['notify', i, notify.template === WHOLE_EVENT_TEMPLATE ? 'to' : 'template'],
          message:
            notify.template === WHOLE_EVENT_TEMPLATE
              ? `${type} destination "${notify.to}" needs a template: add template: <folder under templates/> (only a webhook sends the whole event without one)`
              : `template "${notify.template}" has no ${channel} files for destination "${notify.to}"`,
        });
      }
      problems.push(...threadOptionProblems(notify, type).map(({ key, message }) => ({ rule: def, path: ['notify', i, key], message })));
    });

    for (const { path, operator } of unknownOperators(def.when)) {
      problems.push({ rule: def, path: ['when', ...path], message: `unknown JSON-logic operator "${operator}"` });
    }

    const batching = compileBatching(def);
    problems.push(...batching.problems.map((p) => ({ rule: def, ...p })));

    const match = (def.match ?? {}) as Partial<Record<MatchField, MatchValue>>;
    const when = def.when as Logic | undefined;
    rules.push({
      name: def.name,
      file: def.file,
      index: def.index,
      order,
      match,
      when,
      notify: def.notify,
      stop: def.stop,
      enabled: def.enabled,
      pii: def.pii,
      condition: compileCondition(match, when),
      ...(batching.spec && { batching: batching.spec }),
    });
  });
  return { rules, problems };
}

/** Thread settings of a notify entry that its destination's type cannot honour (README, "Threads"). */
function threadOptionProblems(notify: RuleDefinition['notify'][number], type: DestinationType | undefined): Array<{ key: string; message: string }> {
  if (type === undefined) return [];
  const problems: Array<{ key: string; message: string }> = [];
  for (const key of ['broadcast', 'updateParent'] as const) {
    if (notify[key] !== undefined && type !== 'slack-app') {
      problems.push({
        key,
        message: `only a slack-app destination has threads to ${key === 'broadcast' ? 'broadcast from' : 'update'}; "${notify.to}" is ${type}`,
      });
    }
  }
  if (notify.threadBy !== undefined && type !== 'slack-app' && type !== 'email') {
    problems.push({ key: 'threadBy', message: `only email and slack-app destinations have threads; "${notify.to}" is ${type}` });
  }
  return problems;
}
