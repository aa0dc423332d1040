/**
 * The people-facing text of `herald rules test`. The event's fields are shown
 * on one line each, and nothing in the report writes a control character to
 * the terminal (see table.ts); `--json` prints the report exactly.
 */
import path from 'node:path';
import type { NormalizedEvent } from '../../core/event.js';
import type { RenderedMessage } from '../../core/message.js';
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
