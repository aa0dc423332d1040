/**
 * The template set: every folder of the templates directory, parsed once at
 * load time, rendered per channel with that channel's escaping. Templates see
 * `event` (already redacted by the caller), `rule` ({ name }) and `destination`
 * ({ name, type }).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { WHOLE_EVENT_TEMPLATE } from '../core/rules.js';
import type { DestinationType } from '../core/config.js';
import type { ChannelType, RenderedMessage } from '../core/message.js';
import { renderEmail } from './email-template.js';
import { renderSlack } from './slack-template.js';
import { TemplateRenderError } from './template-error.js';
import { compileTemplateFolder, TEMPLATE_FILES, type CompiledTemplate } from './template-folder.js';
import { renderWebhook, type WebhookFormat } from './webhook-template.js';

export { TemplateRenderError } from './template-error.js';

export interface TemplateScope {
  event: unknown;
  rule: { name: string };
  destination: { name: string; type: DestinationType };
  /** Rules that batch (group, digest): the events of this message, in order. */
  events?: unknown[];
  /** Rules that batch: the group's key, count, omitted, first and last (pipeline/stages/batch.ts). */
  group?: unknown;
  /** Rules with a throttle: `suppressed`, the events held back since the last message. */
  throttle?: unknown;
}

export interface RenderOptions {
  /** Webhook body format: Standard Webhooks' `{ type, timestamp, data }` (default) or a structured CloudEvent. */
  format?: WebhookFormat;
  /** Undefined variables are errors (herald check) instead of blanks (production). Default false. */
  strict?: boolean;
}

export interface TemplateSet {
  /** The template names, sorted. */
  names(): string[];
  /** Channels this template can render: slack if slack.yaml; email if the subject+text files; webhook always (webhook.yaml is optional). */
  channels(name: string): ChannelType[];
  /**
   * The file a channel renders from (for error messages), e.g. templates/kyc-rejected/slack.yaml;
   * for email the text body. Undefined for an unknown template, a channel it cannot render, and a
   * webhook without webhook.yaml (the body is then the event).
   */
  fileFor(name: string, channel: ChannelType): string | undefined;
  /** Renders one message. Throws TemplateRenderError, whose message never holds event data. */
  render(name: string, channel: ChannelType, scope: TemplateScope, options?: RenderOptions): RenderedMessage;
}

/** Files of the templates folder itself that are not templates. */
const IGNORED_TOP_LEVEL = /^(\.|README(\.md)?$)/i;

/** Loads every template under `dir`; throws one ConfigError listing every problem in every template. */
export function loadTemplates(dir: string): TemplateSet {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'the templates folder does not exist'
        : code === 'ENOTDIR'
          ? 'the templates path is not a folder'
          : `cannot read the templates folder (${code})`;
    throw new ConfigError([{ file: dir, path: '', message }]);
  }

  const issues: ConfigIssue[] = [];
  const templates = new Map<string, CompiledTemplate>();
  for (const entry of entries) {
    const folder = path.join(dir, entry);
    if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
      if (!IGNORED_TOP_LEVEL.test(entry)) {
        issues.push({ file: folder, path: '', message: `templates are folders: ${path.join(dir, '<name>')}/ holding ${TEMPLATE_FILES.join(', ')}` });
      }
      continue;
    }
    if (entry === WHOLE_EVENT_TEMPLATE) {
      issues.push({ file: folder, path: '', message: `"${WHOLE_EVENT_TEMPLATE}" is the name of a notify entry without a template: rename the folder` });
      continue;
    }
    const result = compileTemplateFolder(folder, entry);
    issues.push(...result.issues);
    if (result.template) templates.set(entry, result.template);
  }
  if (issues.length > 0) throw new ConfigError(issues.sort(byFileAndLine));
  // A notify entry without a template: no channel files, so only a webhook can render it (the whole event).
  templates.set(WHOLE_EVENT_TEMPLATE, { name: WHOLE_EVENT_TEMPLATE, folder: '' });
  return new LoadedTemplateSet(templates);
}

function byFileAndLine(a: ConfigIssue, b: ConfigIssue): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0);
}

class LoadedTemplateSet implements TemplateSet {
  constructor(private readonly templates: Map<string, CompiledTemplate>) {}

  names(): string[] {
    return [...this.templates.keys()].filter((name) => name !== WHOLE_EVENT_TEMPLATE);
  }

  channels(name: string): ChannelType[] {
    const template = this.templates.get(name);
    if (!template) return [];
    return [...(template.slack ? ['slack' as const] : []), ...(template.email ? ['email' as const] : []), 'webhook'];
  }

  fileFor(name: string, channel: ChannelType): string | undefined {
    const template = this.templates.get(name);
    if (channel === 'slack') return template?.slack?.file;
    if (channel === 'email') return template?.email?.text.location.file;
    return template?.webhook?.file;
  }

  render(name: string, channel: ChannelType, scope: TemplateScope, options: RenderOptions = {}): RenderedMessage {
    const template = this.templates.get(name);
    if (!template) throw new TemplateRenderError({ file: name, path: '' }, `there is no template "${name}"`);
    // Only these three names: nothing else of the caller's object is reachable from a template.
    const variables = {
      event: scope.event,
      rule: scope.rule,
      destination: scope.destination,
      ...(scope.events !== undefined && { events: scope.events }),
      ...(scope.group !== undefined && { group: scope.group }),
      ...(scope.throttle !== undefined && { throttle: scope.throttle }),
    };
    const strict = options.strict ?? false;
    switch (channel) {
      case 'slack':
        if (!template.slack) throw missingChannel(template, 'slack.yaml');
        return renderSlack(template.slack, variables, strict);
      case 'email':
        if (!template.email) throw missingChannel(template, 'email.subject.liquid and email.text.liquid');
        return renderEmail(template.email, variables, strict);
      case 'webhook':
        return renderWebhook(template.webhook, variables, strict, options.format ?? 'standard');
    }
  }
}

function missingChannel(template: CompiledTemplate, files: string): TemplateRenderError {
  return new TemplateRenderError({ file: template.folder, path: '' }, `template "${template.name}" has no ${files}`);
}
