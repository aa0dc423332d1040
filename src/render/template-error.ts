/**
 * Errors of templates, told in the template's own terms (file, line, the
 * variable) and never quoting event data: a render error's message is stored
 * with the dead delivery and logged.
 */
import { TemplateFilterError } from './filters.js';

/** Where in a template file: the YAML path of a leaf (empty for a .liquid file), line and column. */
export interface TemplateLocation {
  file: string;
  path: string;
  line?: number;
  column?: number;
}

/** A template failed to render: a variable undefined in strict mode, or a filter that threw. */
export class TemplateRenderError extends Error {
  constructor(
    readonly location: TemplateLocation,
    /** What went wrong, free of event values. */
    readonly reason: string,
    /** The undefined variable (`event.data.reason`), when that is what went wrong. */
    readonly variable?: string,
  ) {
    super(`${formatLocation(location)}: ${reason}`);
    this.name = 'TemplateRenderError';
  }
}

function formatLocation({ file, path, line, column }: TemplateLocation): string {
  const where = line ? `${file}:${line}:${column ?? 1}` : file;
  return path ? `${where} ${path}` : where;
}

/** What a liquidjs error says, without liquidjs's own location suffix, and where it points in the Liquid source. */
export interface LiquidProblem {
  reason: string;
  variable?: string;
  /** 1-based, inside the Liquid source (a .liquid file, or one YAML leaf). */
  line?: number;
  column?: number;
}

interface LiquidErrorShape {
  name?: string;
  message?: string;
  originalError?: { name?: string; variableName?: unknown; message?: string };
  token?: { getPosition?(): [number, number]; getText?(): string };
}

const LOCATION_SUFFIX = /(, file:.*?)?, line:\d+, col:\d+$/s;

/** Hints for parse errors that come from herald's restrictions rather than from Liquid itself. */
const PARSE_HINTS: Array<[RegExp, string]> = [
  [/^undefined filter: raw$/, '`raw` is not available in Slack and email templates: inserted values are always escaped'],
  [/^tag "(include|render|layout)" not found$/, 'a template is self-contained: it cannot include other files'],
];

/** A parse error (Liquid syntax) as a message and a position in the source. */
export function describeParseError(error: unknown): LiquidProblem {
  const e = error as LiquidErrorShape;
  const message = String(e.message ?? error).replace(LOCATION_SUFFIX, '');
  const hint = PARSE_HINTS.find(([pattern]) => pattern.test(message))?.[1];
  return { reason: `Liquid syntax error: ${message}${hint ? ` (${hint})` : ''}`, ...position(e) };
}

/**
 * A render error as a message free of event values. An undefined variable is
 * named when every part of its name is written in the template (a part that is
 * not came from data, e.g. `event.data[event.data.key]`); a filter's own message
 * may quote its input, so only herald's filters, whose messages never do, are
 * quoted, and other errors are named by their kind and the expression.
 */
export function describeRenderError(error: unknown, source: string): LiquidProblem {
  const e = error as LiquidErrorShape;
  const at = position(e);
  const expression = e.token?.getText?.().trim();
  const inExpression = expression ? ` in \`${clip(expression)}\`` : '';
  const name = e.originalError?.variableName;
  if (e.name === 'UndefinedVariableError' && typeof name === 'string') {
    const written = name.split('.').every((part) => source.includes(part));
    const variable = written ? name : undefined;
    return {
      reason:
        `undefined variable${variable ? ` ${variable}` : inExpression}: check the spelling, ` +
        'or, for a field some events lack, give a fallback with `| default: "…"` as the first filter',
      ...(variable && { variable }),
      ...at,
    };
  }
  const cause = e.originalError ?? e;
  if (cause instanceof TemplateFilterError) return { reason: `${cause.message}${inExpression}`, ...at };
  return { reason: `rendering failed with ${cause.name ?? 'an error'}${inExpression}`, ...at };
}

function position(e: LiquidErrorShape): { line?: number; column?: number } {
  const [line, column] = e.token?.getPosition?.() ?? [];
  return line ? { line, column } : {};
}

/** Expressions are template text (trusted), but a message should stay one readable line. */
function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}
