/**
 * Loads and checks everything herald runs on: the config, the rule files and
 * the templates, cross-checked against each other. Every problem in every file
 * is reported in one ConfigError. Used at start-up, by `herald check` and by
 * `herald rules test`.
 */
import type { HeraldConfig } from '../core/config.js';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { loadConfig, locateRouting, type LoadOptions, type RoutingLocation } from '../config/load.js';
import { formatPath } from '../core/config-path.js';
import { loadRules } from '../config/load-rules.js';
import { eventView } from '../pipeline/events/event-view.js';
import type { RoutingSet } from '../pipeline/stages/route.js';
import { sampleAlertEvents, sampleEvents } from '../pipeline/events/sample-events.js';
import { EVENT_PROVIDERS, PROVIDERS } from '../providers/registry.js';
import { checkTemplates, type CheckSample } from '../render/check.js';
import { loadTemplates, type TemplateSet } from '../render/templates.js';
import { compileRules } from '../routing/compile-rules.js';
import { evaluate } from '../routing/json-logic.js';
import { compileCondition } from '../routing/match.js';
import { RuleSet } from '../routing/rule-set.js';
import type { NormalizedEvent } from '../core/event.js';
import { batchKey, type BatchSpec } from '../routing/batching.js';

export interface HeraldSetup {
  config: HeraldConfig;
  routing: RoutingSet;
}

/**
 * Loads the config, rules and templates; throws one ConfigError listing every
 * problem. When the config itself has errors, the rule files and templates it
 * names are still checked where the config can say where they are, so one run
 * reports everything.
 */
export function loadSetup(configFile: string, env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): HeraldSetup {
  let config: HeraldConfig;
  try {
    config = loadConfig(configFile, env, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const located = locateRouting(configFile);
    const routingIssues = located ? readRouting(located).issues : [];
    throw new ConfigError([...error.issues, ...routingIssues]);
  }
  return loadRouting(config);
}

/** Loads the rules and templates a config names, checked against its destinations. */
export function loadRouting(config: HeraldConfig): HeraldSetup {
  const destinations = new Map(Object.values(config.destinations).map((d) => [d.name, d.type]));
  const { issues, rules, compiled, templates } = readRouting({ rulesDir: config.rulesDir, templatesDir: config.templatesDir, destinations });
  if (issues.length > 0 || !templates) throw new ConfigError(issues);
  return {
    config,
    routing: {
      rules: new RuleSet(compiled.rules, rules.version),
      templates,
      destinations: config.destinations,
      sources: config.sources,
    },
  };
}

/**
 * Reads and compiles the rule files and templates. Without `destinations`
 * (the config's are unknown) rules are not checked against them.
 */
function readRouting({ rulesDir, templatesDir, destinations }: RoutingLocation) {
  const issues: ConfigIssue[] = [];
  const rules = loadRules(rulesDir);
  issues.push(...rules.issues);

  let templates: TemplateSet | undefined;
  try {
    templates = loadTemplates(templatesDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    issues.push(...error.issues);
  }

  const templateChannels = new Map((templates?.names() ?? []).map((name) => [name, templates!.channels(name)]));
  const compiled = compileRules(rules.definitions, { destinations: destinations ?? new Map(), templates: templateChannels });
  // Without templates every template name would look unknown, and without destinations every destination.
  const problems = compiled.problems.filter((p) => (templates || p.path[2] !== 'template') && (destinations || !isDestinationReference(p.path)));
  issues.push(...problems.map((p) => rules.locate(p.rule, p.path, p.message, p.path.at(-1) === 'name')));
  return { issues, rules, compiled, templates };
}

/** `notify[i].to` of a rule. */
function isDestinationReference(path: ReadonlyArray<string | number>): boolean {
  return path[0] === 'notify' && path[2] === 'to';
}

/**
 * Renders every template a rule uses, strictly, against the shipped samples of
 * the events the rule's `match` accepts (herald's own alerts among them, when
 * alerts are on), so a misspelt variable fails here and not in production.
 * Returns the problems found.
 */
export function checkTemplatesAgainstSamples(setup: HeraldSetup): { issues: ConfigIssue[]; renders: number } {
  const { routing } = setup;
  const samples = [...sampleEvents(routing.sources, PROVIDERS, setup.config.media), ...(setup.config.alerts.enabled ? sampleAlertEvents() : [])];
  const issues: ConfigIssue[] = [];
  // A template used by several rules reports a mistake once, not once per rule.
  const reported = new Set<string>();
  let renders = 0;
  for (const rule of routing.rules.rules) {
    const matching = samples.filter((s) => evaluate(compileCondition(rule.match, undefined), s.event));
    if (matching.length === 0) continue;
    const events = matching.map((s) => ({
      label: s.label,
      event: eventView(s.event, EVENT_PROVIDERS[s.event.provider], routing.sources[s.event.source], rule.pii),
    }));
    const views: CheckSample[] = rule.batching ? sampleBatches(rule.batching, events) : events;
    const usages = rule.notify.map((notify, i) => {
      const destination = routing.destinations[notify.to]!;
      return {
        template: notify.template,
        channel: destination.type,
        ruleName: rule.name,
        ruleFile: rule.file,
        rulePath: `rule "${rule.name}" ${formatPath([rule.index, 'notify', i, 'template'])}`,
        destination: { name: destination.name, type: destination.type },
      };
    });
    renders += usages.length * views.length;
    issues.push(...checkTemplates(routing.templates, usages, views, reported));
  }
  return { issues, renders };
}

/**
 * The samples a batching rule's templates are checked against: each sample
 * event as a group of one, and all of them as one group, with `group`,
 * `events` and (with a throttle) `throttle` as pipeline/stages/batch.ts sets them.
 */
function sampleBatches(spec: BatchSpec, views: Array<{ label: string; event: NormalizedEvent }>): CheckSample[] {
  const throttle = spec.throttle ? { throttle: { suppressed: 2 } } : {};
  const group = (events: NormalizedEvent[]) => {
    const key = batchKey(events.at(-1), spec);
    return {
      key: key.label,
      values: key.values,
      count: events.length,
      omitted: 0,
      first: events[0]?.receivedAt ?? null,
      last: events.at(-1)?.receivedAt ?? null,
    };
  };
  if (spec.kind === 'throttle') return views.map((v) => ({ ...v, batch: throttle }));
  const singles = views.map((v) => ({
    label: `${v.label} (a group of one)`,
    event: v.event,
    batch: { events: [v.event], group: group([v.event]), ...throttle },
  }));
  const all = views.map((v) => v.event);
  return [...singles, { label: `a group of ${all.length} samples`, event: all.at(-1), batch: { events: all, group: group(all), ...throttle } }];
}
