/**
 * slack.yaml: the incoming-webhook payload, `text` and optional `blocks`
 * (https://api.slack.com/messaging/webhooks), every string leaf a Liquid
 * template whose inserted values are escaped for the kind of text it is (see
 * escape.ts).
 */
import type { ConfigIssue } from '../core/errors.js';
import type { SlackMessage } from '../core/message.js';
import { valueAt, type ConfigPath, type PathIssue } from '../core/config-path.js';
import type { YamlFile } from '../core/yaml-file.js';
import { compileTree, renderTree, type CompiledTree } from './compiled-tree.js';
import type { OutputKind } from './liquid.js';
import { fitSlackPayload } from './slack-limits.js';

export interface SlackTemplate {
  file: string;
  tree: CompiledTree;
}

const SLACK_KEYS = ['text', 'blocks'];

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * How a string leaf's values are escaped. Slack reads mrkdwn in the top-level
 * `text` and in the `text` of a `type: mrkdwn` object; plain_text objects and
 * other strings (`alt_text`) are shown as they are, so formatting characters
 * need no look-alikes there. URL fields (`url`, `image_url`) are read verbatim:
 * `&amp;` would break a query string, and `<` there cannot make a mention.
 */
function slackLeafKind(data: unknown, path: ConfigPath): OutputKind {
  const key = path.at(-1);
  if (typeof key === 'string' && /(^|_)url$/.test(key)) return 'none';
  if (path.length === 1 && key === 'text') return 'mrkdwn';
  const parent = valueAt(data, path.slice(0, -1));
  return key === 'text' && isObject(parent) && parent.type === 'mrkdwn' ? 'mrkdwn' : 'slack-plain';
}

/** Every mrkdwn text object in a tree, with its path. */
function mrkdwnObjects(node: unknown, path: ConfigPath = []): Array<{ object: Json; path: ConfigPath }> {
  if (Array.isArray(node)) return node.flatMap((item, i) => mrkdwnObjects(item, [...path, i]));
  if (!isObject(node)) return [];
  const own = node.type === 'mrkdwn' ? [{ object: node, path }] : [];
  return [...own, ...Object.entries(node).flatMap(([key, value]) => mrkdwnObjects(value, [...path, key]))];
}

/** The shape problems of a slack.yaml, as paths. */
function shapeProblems(data: unknown): PathIssue[] {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return [{ path: [], message: 'slack.yaml must be a mapping with `text` (a string) and optional `blocks` (a list)' }];
  }
  const payload = data as Record<string, unknown>;
  const problems: PathIssue[] = Object.keys(payload)
    .filter((key) => !SLACK_KEYS.includes(key))
    .map((key) => ({ path: [key], atKey: true, message: `unknown key; slack.yaml has ${SLACK_KEYS.join(' and ')}` }));
  if (typeof payload.text !== 'string') {
    problems.push({
      path: 'text' in payload ? ['text'] : [],
      message: '`text` must be a string: the message, and the notification text when there are blocks',
    });
  }
  if ('blocks' in payload) {
    if (!Array.isArray(payload.blocks)) {
      problems.push({ path: ['blocks'], message: '`blocks` must be a list of Block Kit blocks' });
    } else {
      payload.blocks.forEach((block, i) => {
        const type = block !== null && typeof block === 'object' ? (block as Record<string, unknown>).type : undefined;
        if (typeof type !== 'string')
          problems.push({ path: ['blocks', i], message: 'a block must be a mapping with a `type` (section, header, context, ...)' });
      });
    }
  }
  for (const { object, path } of mrkdwnObjects(payload.blocks, ['blocks'])) {
    if ('verbatim' in object && object.verbatim !== true) {
      problems.push({
        path: [...path, 'verbatim'],
        message:
          'herald sends every mrkdwn text verbatim (`verbatim: true`), so that a URL in an event value never becomes a link; write links as <https://…|label>',
      });
    }
  }
  return problems;
}

/** Checks and compiles a parsed slack.yaml; returns the template or every problem. */
export function compileSlackTemplate(yaml: YamlFile): SlackTemplate | ConfigIssue[] {
  // The leaves are compiled even when the shape is wrong, so that one run reports both.
  const problems = shapeProblems(yaml.data).map(yaml.locate);
  const { tree, issues } = compileTree(yaml, (path) => slackLeafKind(yaml.data, path));
  return problems.length + issues.length > 0 ? [...problems, ...issues] : { file: yaml.file, tree };
}

/**
 * The payload as Slack is to read it: every mrkdwn text object `verbatim`,
 * which stops Slack from turning bare URLs, channel names and mentions into
 * links (https://docs.slack.dev/reference/block-kit/composition-objects/text-object);
 * the template's own `<url|label>` links still work. The top-level `text` has no
 * such option, so a message without blocks is sent with its text also as one
 * verbatim section; `text` is then only the notification.
 */
function verbatim(payload: { text: string; blocks?: unknown[] }): { text: string; blocks: unknown[] } {
  const blocks = payload.blocks ?? [{ type: 'section', text: { type: 'mrkdwn', text: payload.text } }];
  for (const { object } of mrkdwnObjects(blocks)) object.verbatim = true;
  return { text: payload.text, blocks };
}

/** Renders the payload, within Slack's size limits. Throws TemplateRenderError. */
export function renderSlack(template: SlackTemplate, scope: object, strict: boolean): SlackMessage {
  const payload = renderTree(template.tree, (leaf) => leaf.render(scope, strict)) as { text: string; blocks?: unknown[] };
  return { channel: 'slack', payload: fitSlackPayload(verbatim(payload)) };
}
