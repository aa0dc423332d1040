/**
 * The Liquid engines (liquidjs) templates are parsed with: one per kind of
 * output, each created once. liquidjs decides escaping when it parses (it
 * appends `outputEscape` to every `{{ }}`), so a parsed template belongs to the
 * engine of its channel; strictness is chosen per render (`strictVariables` is
 * a render option), so one parse serves `herald check` (strict) and production
 * (lenient: a missing field prints blank rather than losing the notification).
 */
import { Liquid, type LiquidOptions, type Template } from 'liquidjs';
import { escapeHtml, escapeLines, escapeMrkdwn, escapeSlackPlain, type Escaping } from './escape.js';
import { HERALD_FILTERS } from './filters.js';

/** What a parsed template renders to: text with the channel's escaping, or a webhook value. */
export type OutputKind = Escaping | 'value';

/**
 * The variables a template can read; anything else is a mistake found at load
 * time. `events`, `group` and `throttle` are set for rules that batch (group,
 * digest, throttle: pipeline/stages/batch.ts); herald check finds a template that
 * reads them for a rule that does not.
 */
export const SCOPE_VARIABLES = ['event', 'rule', 'destination', 'events', 'group', 'throttle'] as const;

function createEngine(options: LiquidOptions): Liquid {
  const engine = new Liquid({
    ownPropertyOnly: true, // no prototype access: `event.constructor` is undefined
    strictFilters: true, // a misspelt filter is a parse error, found at load time
    strictVariables: false, // chosen per render, see above
    lenientIf: true, // `{% if x %}` and `x | default: "…"` may test a field that is absent, even strictly
    jsTruthy: false, // Liquid truthiness: only nil and false are false
    timezoneOffset: 'UTC', // `date` prints UTC unless given a zone
    locale: 'en-US', // month and day names do not depend on the server's locale
    ...options,
  });
  for (const [name, filter] of Object.entries(HERALD_FILTERS)) engine.registerFilter(name, filter);
  // A template is one self-contained file, parsed once: nothing reads other files at render time.
  for (const tag of ['include', 'render', 'layout']) delete (engine.tags as Record<string, unknown>)[tag];
  if (options.outputEscape) {
    // `| raw` as the last filter skips outputEscape in liquidjs: it would let event
    // data write `<!channel>`, markup or lines. Without it, using `raw` is a parse error.
    engine.unregisterFilter('raw');
  }
  return engine;
}

const ENGINES: Record<OutputKind, Liquid> = {
  none: createEngine({}),
  text: createEngine({ outputEscape: escapeLines }),
  mrkdwn: createEngine({ outputEscape: escapeMrkdwn }),
  'slack-plain': createEngine({ outputEscape: escapeSlackPlain }),
  html: createEngine({ outputEscape: escapeHtml }),
  // A webhook leaf that is one `{{ }}` keeps the value's type: `{{ event.data.data.risk_score }}`
  // stays a number, `{{ event.data }}` an object. Mixed text is a string.
  value: createEngine({ keepOutputType: true }),
};

/** Parses Liquid source for one kind of output; throws liquidjs's ParseError or TokenizationError. */
export function parseLiquid(kind: OutputKind, source: string): ParsedLiquid {
  const engine = ENGINES[kind];
  return { kind, source, templates: engine.parse(source) };
}

/** A template parsed once at load time, with its source (kept for error messages). */
export interface ParsedLiquid {
  kind: OutputKind;
  source: string;
  templates: Template[];
}

/** The top-level variables a template reads, other than those it assigns itself, where each is first read. */
export function globalVariables(parsed: ParsedLiquid): Array<{ name: string; line: number; column: number }> {
  const { globals } = ENGINES[parsed.kind].analyzeSync(parsed.templates);
  return Object.entries(globals).map(([name, uses]) => ({ name, line: uses[0]?.location.row ?? 1, column: uses[0]?.location.col ?? 1 }));
}

/** Renders a parsed template; throws liquidjs's errors (see template-error.ts). */
export function renderLiquid(parsed: ParsedLiquid, scope: object, strict: boolean): unknown {
  return ENGINES[parsed.kind].renderSync(parsed.templates, scope, { strictVariables: strict });
}
