/**
 * Slack's size limits, applied to a rendered payload so that Slack never
 * rejects a message for its size: an over-long text is cut and ends with a
 * visible marker, extra blocks are dropped with a note. Limits from
 * https://api.slack.com/reference/block-kit/blocks and
 * https://api.slack.com/methods/chat.postMessage#truncating (40,000 characters).
 */

export const SLACK_LIMITS = {
  text: 40_000,
  blocks: 50,
  sectionText: 3_000,
  sectionFields: 10,
  fieldText: 2_000,
  contextElements: 10,
  contextText: 3_000,
  headerText: 150,
} as const;

export const TRUNCATION_MARKER = '… (truncated)';

/** Slack refuses an empty text object; a field that rendered blank shows this instead. */
export const BLANK_TEXT = '-';

/**
 * `text` cut to `limit` UTF-16 code units, marker included. Slack counts
 * characters, never more than code units, so this is on the safe side. The cut
 * never splits a surrogate pair or leaves half an escape (`&am`) behind.
 */
export function truncate(text: string, limit: number): string {
  if (text.trim() === '') return BLANK_TEXT;
  if (text.length <= limit) return text;
  let cut = limit - TRUNCATION_MARKER.length;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, cut).replace(/&(a|am|amp|l|lt|g|gt)?$/, '') + TRUNCATION_MARKER;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/** A text object (`{ type, text }`) with its text fitted to `limit`; anything else unchanged. */
function fitTextObject(value: unknown, limit: number): unknown {
  return isObject(value) && typeof value.text === 'string' ? { ...value, text: truncate(value.text, limit) } : value;
}

function fitList(value: unknown, max: number, limit: number): unknown {
  return Array.isArray(value) ? value.slice(0, max).map((item) => fitTextObject(item, limit)) : value;
}

function fitBlock(block: unknown): unknown {
  if (!isObject(block)) return block;
  switch (block.type) {
    case 'header':
      return { ...block, text: fitTextObject(block.text, SLACK_LIMITS.headerText) };
    case 'section':
      return {
        ...block,
        ...('text' in block && { text: fitTextObject(block.text, SLACK_LIMITS.sectionText) }),
        ...('fields' in block && { fields: fitList(block.fields, SLACK_LIMITS.sectionFields, SLACK_LIMITS.fieldText) }),
      };
    case 'context':
      return { ...block, elements: fitList(block.elements, SLACK_LIMITS.contextElements, SLACK_LIMITS.contextText) };
    default:
      return block;
  }
}

/** The payload within Slack's limits. */
export function fitSlackPayload(payload: { text: string; blocks?: unknown[] }): { text: string; blocks?: unknown[] } {
  const text = truncate(payload.text, SLACK_LIMITS.text);
  if (!payload.blocks) return { text };
  let blocks = payload.blocks.map(fitBlock);
  if (blocks.length > SLACK_LIMITS.blocks) {
    const note = { type: 'context', elements: [{ type: 'mrkdwn', text: `${TRUNCATION_MARKER}: ${blocks.length - SLACK_LIMITS.blocks + 1} more blocks` }] };
    blocks = [...blocks.slice(0, SLACK_LIMITS.blocks - 1), note];
  }
  return { text, blocks };
}
