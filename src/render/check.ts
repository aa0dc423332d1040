/**
 * `herald check`'s template check: renders every template a rule uses, for the
 * channel it is sent to, strictly against sample events, so that a misspelt or
 * missing variable is found before it goes live, not as a blank in production.
 */
import type { ConfigIssue } from '../core/errors.js';
import type { DestinationType } from '../core/config.js';
import type { ChannelType } from '../core/message.js';
import { WHOLE_EVENT_TEMPLATE } from '../core/rules.js';
import { TemplateRenderError } from './template-error.js';
import type { TemplateSet } from './templates.js';

/** One `notify` entry of a rule: a template sent to a destination. */
export interface TemplateUsage {
  template: string;
  channel: ChannelType;
  ruleFile: string;
  /** Where in the rule file, as people read it: `rule "kyc-rejected" [0].notify[1].template`. */
  rulePath: string;
  destination: { name: string; type: DestinationType };
  /** The rule's name, which templates see as `rule.name`; the rule path stands in when absent. */
  ruleName?: string;
}

export interface CheckSample {
  /** Names the sample in messages, e.g. `legaltalent kyc.session.rejected`. */
  label: string;
  /** The event as the rule's templates see it (redacted like in production). */
  event: unknown;
  /** For a rule that batches: the sample group's `events`, `group` and `throttle` (pipeline/stages/batch.ts). */
  batch?: { events?: unknown[]; group?: unknown; throttle?: unknown };
}

const CHANNEL_FILES: Record<ChannelType, string> = {
  slack: 'slack.yaml',
  email: 'email.subject.liquid and email.text.liquid',
  webhook: 'webhook.yaml',
};

/**
 * Renders each usage strictly against each sample. A failure is reported once
 * per template file and variable (the first rule and sample that hit it), in
 * the template file, at the line of the failing expression. `reported` carries
 * what earlier calls reported, for a caller that checks rule by rule (each
 * rule has its own samples) and wants a template that several rules use to
 * report a mistake once.
 */
export function checkTemplates(set: TemplateSet, usages: TemplateUsage[], samples: CheckSample[], reported = new Set<string>()): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const known = new Set(set.names());
  for (const usage of usages) {
    const usedBy = `${usage.ruleFile} ${usage.rulePath}`;
    if (!known.has(usage.template) && usage.template !== WHOLE_EVENT_TEMPLATE) {
      issues.push({ file: usage.ruleFile, path: usage.rulePath, message: `there is no template "${usage.template}"` });
      continue;
    }
    // Without a template only a webhook has a message, and compile-rules says so for the others.
    if (usage.template === WHOLE_EVENT_TEMPLATE && usage.channel !== 'webhook') continue;
    if (!set.channels(usage.template).includes(usage.channel)) {
      issues.push({
        file: usage.ruleFile,
        path: usage.rulePath,
        message: `template "${usage.template}" has no ${CHANNEL_FILES[usage.channel]}, which ${usage.channel} destination "${usage.destination.name}" needs`,
      });
      continue;
    }
    for (const sample of samples) {
      try {
        set.render(
          usage.template,
          usage.channel,
          { ...sample.batch, event: sample.event, rule: { name: usage.ruleName ?? usage.rulePath }, destination: usage.destination },
          { strict: true },
        );
      } catch (error) {
        if (!(error instanceof TemplateRenderError)) throw error;
        const { file, path, line, column } = error.location;
        const key = `${file}\0${error.variable ?? `${path}\0${error.reason}`}`;
        if (reported.has(key)) continue;
        reported.add(key);
        issues.push({ file, path, ...(line && { line, column }), message: `${error.reason} (used by ${usedBy}; sample ${sample.label})` });
      }
    }
  }
  return issues;
}
