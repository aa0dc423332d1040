/**
 * slack.yaml: the incoming-webhook payload, `text` and optional `blocks`
 * (https://api.slack.com/messaging/webhooks), every string leaf a Liquid
 * template whose inserted values are escaped for mrkdwn.
 */
import type { ConfigIssue } from '../core/errors.js';
import type { SlackMessage } from '../core/message.js';
import type { ConfigPath, PathIssue } from '../core/config-path.js';
import type { YamlFile } from '../core/yaml-file.js';
import { compileTree, renderTree, type CompiledTree } from './compiled-tree.js';
import type { OutputKind } from './liquid.js';
import { fitSlackPayload } from './slack-limits.js';

export interface SlackTemplate {
  file: string;
  tree: CompiledTree;
}

const SLACK_KEYS = ['text', 'blocks'];

/**
 * URL fields (`url`, `image_url`) are not mrkdwn: Slack reads them verbatim, so
 * `&amp;` would break a query string, and `<` there cannot make a mention.
 */
function slackLeafKind(path: ConfigPath): OutputKind {
  const key = path.at(-1);
  return typeof key === 'string' && /(^|_)url$/.test(key) ? 'none' : 'slack';
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
    problems.push({ path: 'text' in payload ? ['text'] : [], message: '`text` must be a string: the message, and the notification text when there are blocks' });
  }
  if ('blocks' in payload) {
    if (!Array.isArray(payload.blocks)) {
      problems.push({ path: ['blocks'], message: '`blocks` must be a list of Block Kit blocks' });
    } else {
      payload.blocks.forEach((block, i) => {
        const type = block !== null && typeof block === 'object' ? (block as Record<string, unknown>).type : undefined;
        if (typeof type !== 'string') problems.push({ path: ['blocks', i], message: 'a block must be a mapping with a `type` (section, header, context, ...)' });
      });
    }
  }
  return problems;
}

/** Checks and compiles a parsed slack.yaml; returns the template or every problem. */
export function compileSlackTemplate(yaml: YamlFile): SlackTemplate | ConfigIssue[] {
  // The leaves are compiled even when the shape is wrong, so that one run reports both.
  const problems = shapeProblems(yaml.data).map(yaml.locate);
  const { tree, issues } = compileTree(yaml, slackLeafKind);
  return problems.length + issues.length > 0 ? [...problems, ...issues] : { file: yaml.file, tree };
}

/** Renders the payload, within Slack's size limits. Throws TemplateRenderError. */
export function renderSlack(template: SlackTemplate, scope: object, strict: boolean): SlackMessage {
  const payload = renderTree(template.tree, (leaf) => leaf.render(scope, strict)) as { text: string; blocks?: unknown[] };
  return { channel: 'slack', payload: fitSlackPayload(payload) };
}
