/**
 * An outbound webhook body: webhook.yaml rendered leaf by leaf, or the event
 * itself when the template has none, wrapped in the destination's format.
 */
import type { ConfigIssue } from '../core/errors.js';
import type { WebhookMessage } from '../core/message.js';
import type { YamlFile } from '../core/yaml-file.js';
import { compileTree, renderTree, type CompiledTree } from './compiled-tree.js';

export interface WebhookTemplate {
  file: string;
  tree: CompiledTree;
}

export type WebhookFormat = 'standard' | 'cloudevents';

/** Checks and compiles a parsed webhook.yaml; returns the template or every problem. */
export function compileWebhookTemplate(yaml: YamlFile): WebhookTemplate | ConfigIssue[] {
  if (yaml.data === null || typeof yaml.data !== 'object') {
    return [yaml.locate({ path: [], message: 'webhook.yaml must be a mapping or a list: the body to send' })];
  }
  // A leaf that is one `{{ }}` keeps its value's type (see liquid.ts).
  const { tree, issues } = compileTree(yaml, () => 'value');
  return issues.length > 0 ? issues : { file: yaml.file, tree };
}

const field = (event: unknown, key: string): unknown =>
  event !== null && typeof event === 'object' && Object.hasOwn(event, key) ? (event as Record<string, unknown>)[key] : undefined;

/**
 * Standard Webhooks' payload structure `{ type, timestamp, data }`
 * (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#payload-structure),
 * or a structured CloudEvent (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md).
 */
function wrap(event: unknown, body: unknown, format: WebhookFormat): WebhookMessage {
  if (format === 'cloudevents') {
    const subject = field(event, 'subject');
    return {
      channel: 'webhook',
      contentType: 'application/cloudevents+json',
      body: {
        specversion: '1.0',
        id: field(event, 'id'),
        source: `/herald/sources/${String(field(event, 'source'))}`,
        type: field(event, 'type'),
        // CloudEvents: `subject`, when present, is a non-empty string; some events are about nothing in particular.
        ...(typeof subject === 'string' && subject !== '' && { subject }),
        time: field(event, 'time'),
        datacontenttype: 'application/json',
        data: body,
      },
    };
  }
  return {
    channel: 'webhook',
    contentType: 'application/json',
    body: { type: field(event, 'type'), timestamp: field(event, 'time'), data: body },
  };
}

/** Renders the body and wraps it. Throws TemplateRenderError. */
export function renderWebhook(
  template: WebhookTemplate | undefined,
  scope: { event: unknown; events?: unknown[]; group?: unknown; throttle?: unknown },
  strict: boolean,
  format: WebhookFormat,
): WebhookMessage {
  // A leaf that printed nothing in lenient mode is undefined: JSON would drop the key, so it is sent as null.
  const body = template ? renderTree(template.tree, (leaf) => leaf.render(scope, strict) ?? null) : defaultBody(scope);
  return wrap(scope.event, body, format);
}

/** Without webhook.yaml: the event; for a batch, its group and events (and throttle), all the template would see. */
function defaultBody(scope: { event: unknown; events?: unknown[]; group?: unknown; throttle?: unknown }): unknown {
  if (scope.events === undefined && scope.throttle === undefined) return scope.event;
  return {
    ...(scope.group !== undefined && { group: scope.group }),
    ...(scope.events !== undefined ? { events: scope.events } : { event: scope.event }),
    ...(scope.throttle !== undefined && { throttle: scope.throttle }),
  };
}
