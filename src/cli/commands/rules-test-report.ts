/** The people-facing text of `herald rules test`. */
import path from 'node:path';
import type { NormalizedEvent } from '../../core/event.js';
import type { RenderedMessage } from '../../core/message.js';

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
  const lines = [
    `Event: ${event.source} (${event.provider}) ${event.type}: category ${event.category}, outcome ${event.outcome ?? 'none'}, subject ${event.subject ?? 'none'}`,
    `Rules ${report.rulesVersion}: ${report.fired.length} of ${report.rulesTotal} fire${report.fired.length === 0 ? '; nothing would be sent' : ''}`,
  ];
  report.fired.forEach((fired, i) => {
    lines.push('', `${i + 1}. ${fired.rule} (${path.basename(fired.file)})`);
    for (const n of fired.notifications) {
      lines.push(`   -> ${n.destination} (${n.channel}, template ${n.template})`);
      lines.push(n.message ? indent(renderMessage(n.message), '      ') : `      FAILED: ${n.error}`);
    }
  });
  return `${lines.join('\n')}\n`;
}
