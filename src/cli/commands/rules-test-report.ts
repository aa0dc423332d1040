/**
 * The people-facing text of `herald rules test`. The event's fields are shown
 * on one line each, and nothing in the report writes a control character to
 * the terminal (see table.ts); `--json` prints the report exactly.
 */
import path from 'node:path';
import type { NormalizedEvent } from '../../core/event.js';
import type { RenderedMessage } from '../../core/message.js';
import type { BatchPreview } from '../../pipeline/operator/batch-preview.js';
import { printable, printableLines } from '../table.js';

export interface RulesTestReport {
  event: NormalizedEvent;
  rulesVersion: string;
  rulesTotal: number;
  fired: Array<{
    rule: string;
    file: string;
    notifications: Array<{ destination: string; channel: string; template: string; message: RenderedMessage | null; error?: string }>;
  }>;
  /** The rules that fire and batch the event (group, digest, throttle): their messages are in the batch preview. */
  batched?: Array<{ rule: string; file: string; kind: 'group' | 'digest' | 'throttle' }>;
}

/** `herald rules test` with several events, or rules that batch: each event's report, and what the batches would send. */
export interface RulesTestBatchReport {
  events: RulesTestReport[];
  batches: BatchPreview;
}

const indent = (text: string, by: string) => text.replace(/^/gm, by);

function renderMessage(message: RenderedMessage): string {
  switch (message.channel) {
    case 'slack':
      return JSON.stringify(message.payload, null, 2);
    case 'email':
      return [`Subject: ${message.subject}`, '', message.text, ...(message.html ? ['', '--- HTML ---', message.html] : [])].join('\n');
    case 'webhook':
      return [`Content-Type: ${message.contentType}`, JSON.stringify(message.body, null, 2)].join('\n');
  }
}

export function renderRulesTest(report: RulesTestReport): string {
  const { event } = report;
  const p = printable;
  const lines = [
    `Event: ${p(event.source)} (${p(event.provider)}) ${p(event.type)}: category ${p(event.category)}, outcome ${p(event.outcome ?? 'none')}, subject ${p(event.subject ?? 'none')}`,
    `Rules ${report.rulesVersion}: ${report.fired.length} of ${report.rulesTotal} fire${report.fired.length === 0 ? '; nothing would be sent' : ''}`,
  ];
  report.fired.forEach((fired, i) => {
    lines.push('', `${i + 1}. ${fired.rule} (${path.basename(fired.file)})`);
    for (const n of fired.notifications) {
      lines.push(`   -> ${n.destination} (${n.channel}, template ${n.template})`);
      lines.push(n.message ? indent(renderMessage(n.message), '      ') : `      FAILED: ${n.error}`);
    }
  });
  return printableLines(`${lines.join('\n')}\n`);
}

/** Each event in brief with its messages, then what grouping, digests and throttles would send, and when. */
export function renderRulesTestBatches(report: RulesTestBatchReport): string {
  const p = printable;
  const lines: string[] = [];
  report.events.forEach((r, i) => {
    const e = r.event;
    lines.push(`Event ${i + 1}: ${p(e.source)} (${p(e.provider)}) ${p(e.type)}, subject ${p(e.subject ?? 'none')}, received ${p(e.receivedAt)}`);
    for (const fired of r.fired) {
      for (const n of fired.notifications)
        lines.push(`   ${fired.rule} -> ${n.destination} (${n.channel}, template ${n.template})${n.error ? `: FAILED: ${n.error}` : ''}`);
    }
    for (const b of r.batched ?? []) lines.push(`   ${b.rule} (${b.kind}): batched, see below`);
    if (r.fired.length === 0 && !r.batched) lines.push('   no rule fires');
  });
  const { messages, heldBack } = report.batches;
  lines.push(
    '',
    `Grouping, digests and throttles would send ${messages.length} message${messages.length === 1 ? '' : 's'}` +
      `${heldBack > 0 ? `; ${heldBack} event${heldBack === 1 ? '' : 's'} held back by throttles` : ''}:`,
  );
  messages.forEach((m, i) => {
    lines.push(
      '',
      `${i + 1}. at ${m.at}: ${m.rule} -> ${m.destination} (template ${m.template}), key "${p(m.key)}", ${m.events} event${m.events === 1 ? '' : 's'}`,
    );
    lines.push(m.message ? indent(renderMessage(m.message), '      ') : `      FAILED: ${m.error}`);
  });
  return printableLines(`${lines.join('\n')}\n`);
}
