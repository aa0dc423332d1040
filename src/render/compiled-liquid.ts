/**
 * One piece of Liquid, parsed once at load time: a whole `.liquid` file, or one
 * string leaf of a YAML template. It knows where it came from, so that every
 * error, at load or at render, names the file, the YAML path and the line.
 */
import { BoundedCache } from '../core/bounded-cache.js';
import type { ConfigIssue } from '../core/errors.js';
import { globalVariables, parseLiquid, renderLiquid, SCOPE_VARIABLES, type OutputKind, type ParsedLiquid } from './liquid.js';
import { describeParseError, describeRenderError, TemplateRenderError, type LiquidProblem, type TemplateLocation } from './template-error.js';

/**
 * Parses by kind and source, kept for the life of the process: a parse is a pure function of the two, and a
 * parsed template is only read when rendered, so every herald started in this process (a config reload, the
 * tests' many heralds) shares one parse of an unchanged source instead of parsing it again. Bounded, least
 * recently used out first, so that a long-lived process whose templates keep changing does not grow.
 */
const PARSED = new BoundedCache<string, { parsed: ParsedLiquid; globals: ReturnType<typeof globalVariables> }>(2000);

export class CompiledLiquid {
  private constructor(
    private readonly parsed: ParsedLiquid,
    /** The file, and for a YAML leaf its path and the line and column where its value starts. */
    readonly location: TemplateLocation,
  ) {}

  /**
   * Parses `source`; returns the problems instead when it is not valid Liquid
   * or reads a variable templates do not have (`evnt.type`).
   */
  static compile(kind: OutputKind, source: string, location: TemplateLocation): CompiledLiquid | ConfigIssue[] {
    const key = `${kind}\0${source}`;
    let analysed = PARSED.get(key);
    if (!analysed) {
      let parsed: ParsedLiquid;
      try {
        parsed = parseLiquid(kind, source);
      } catch (error) {
        return [issueAt(location, source, describeParseError(error))];
      }
      analysed = { parsed, globals: globalVariables(parsed) };
      PARSED.set(key, analysed);
    }
    const { parsed, globals } = analysed;
    const unknown = globals.filter((v) => !(SCOPE_VARIABLES as readonly string[]).includes(v.name));
    if (unknown.length > 0) {
      return unknown.map((v) =>
        issueAt(location, source, {
          reason: `unknown variable ${v.name}: templates see ${SCOPE_VARIABLES.join(', ')}`,
          line: v.line,
          column: v.column,
        }),
      );
    }
    return new CompiledLiquid(parsed, location);
  }

  /** Renders with the scope; throws TemplateRenderError. Text for every kind but `value`. */
  render(scope: object, strict: boolean): unknown {
    try {
      return renderLiquid(this.parsed, scope, strict);
    } catch (error) {
      const problem = describeRenderError(error, this.parsed.source);
      const { location, reason } = locate(this.location, this.parsed.source, problem);
      throw new TemplateRenderError(location, reason, problem.variable);
    }
  }
}

function issueAt(at: TemplateLocation, source: string, problem: LiquidProblem): ConfigIssue {
  const { location, reason } = locate(at, source, problem);
  return { ...location, message: reason };
}

/**
 * A problem's place in the file. In a .liquid file Liquid's own line and column
 * are the file's. A YAML leaf is located where its value starts; the line inside
 * a value of several lines is added to the message, since quoting and folding
 * make YAML lines and value lines differ.
 */
function locate(at: TemplateLocation, source: string, problem: LiquidProblem): { location: TemplateLocation; reason: string } {
  if (!at.path) {
    return { location: { ...at, ...(problem.line && { line: problem.line, column: problem.column }) }, reason: problem.reason };
  }
  const inside = problem.line && source.includes('\n') ? ` (line ${problem.line} of the value)` : '';
  return { location: at, reason: `${problem.reason}${inside}` };
}
