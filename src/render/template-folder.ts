/**
 * One template folder, `templates/<name>/`, read and compiled once: which files
 * it has, each file parsed, every problem in every file collected.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { ConfigIssue } from '../core/errors.js';
import { BoundedCache } from '../core/bounded-cache.js';
import { closestMatch } from '../core/closest.js';
import { readTextFile } from '../core/read-text-file.js';
import { parseYamlFile, type YamlFile } from '../core/yaml-file.js';
import { CompiledLiquid } from './compiled-liquid.js';
import type { EmailTemplate } from './email-template.js';
import type { OutputKind } from './liquid.js';
import { compileSlackTemplate, type SlackTemplate } from './slack-template.js';
import { compileWebhookTemplate, type WebhookTemplate } from './webhook-template.js';

/** The files a template folder may hold. Files starting with `.` (editor swap files) are ignored. */
export const TEMPLATE_FILES = ['slack.yaml', 'email.subject.liquid', 'email.text.liquid', 'email.html.liquid', 'webhook.yaml'] as const;
type TemplateFile = (typeof TEMPLATE_FILES)[number];

export interface CompiledTemplate {
  name: string;
  folder: string;
  slack?: SlackTemplate;
  email?: EmailTemplate;
  webhook?: WebhookTemplate;
}

const isTemplateFile = (name: string): name is TemplateFile => (TEMPLATE_FILES as readonly string[]).includes(name);

/**
 * slack.yaml and webhook.yaml files compiled, by path and text, kept for the life of the process like
 * the Liquid parses (compiled-liquid.ts): compiling is a pure function of the two, and a compiled
 * template is only read when rendered, so every herald started in this process (a config reload, the
 * tests' many heralds) shares one compile of an unchanged file instead of parsing its YAML again.
 * Bounded, least recently used out first.
 */
const COMPILED_YAML = new BoundedCache<string, SlackTemplate | WebhookTemplate | ConfigIssue[]>(500);

function compileYamlOnce<T extends SlackTemplate | WebhookTemplate>(
  file: string,
  text: string,
  compile: (yaml: YamlFile) => T | ConfigIssue[],
): T | ConfigIssue[] {
  const key = `${file}\0${text}`;
  let compiled = COMPILED_YAML.get(key) as T | ConfigIssue[] | undefined;
  if (!compiled) {
    const yaml = parseYamlFile(file, text);
    compiled = yaml.syntaxIssues.length > 0 ? yaml.syntaxIssues : compile(yaml);
    COMPILED_YAML.set(key, compiled);
  }
  return compiled;
}

/** Reads and compiles `folder`; the template, or every problem found in it. */
export function compileTemplateFolder(folder: string, name: string): { template?: CompiledTemplate; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const files = new Map<TemplateFile, string>();
  let entries: string[];
  try {
    entries = readdirSync(folder).sort();
  } catch (error) {
    return { issues: [{ file: folder, path: '', message: `cannot read template "${name}" (${(error as NodeJS.ErrnoException).code ?? 'error'})` }] };
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const file = path.join(folder, entry);
    if (!isTemplateFile(entry)) {
      issues.push({ file, path: '', message: unknownFileMessage(name, entry) });
      continue;
    }
    const read = readTextFile(file, 'template file');
    if ('issue' in read) issues.push(read.issue);
    else files.set(entry, read.text.replace(/^\uFEFF/, ''));
  }
  if (files.size === 0 && issues.length === 0) {
    return { issues: [{ file: folder, path: '', message: `template "${name}" is empty; a template folder holds ${TEMPLATE_FILES.join(', ')}` }] };
  }

  const template: CompiledTemplate = { name, folder };
  const collect = <T>(result: T | ConfigIssue[]): T | undefined => {
    if (Array.isArray(result)) {
      issues.push(...result);
      return undefined;
    }
    return result;
  };
  const liquidFile = (entry: TemplateFile, kind: OutputKind) =>
    files.has(entry) ? collect(CompiledLiquid.compile(kind, files.get(entry)!, { file: path.join(folder, entry), path: '' })) : undefined;

  if (files.has('slack.yaml')) template.slack = collect(compileYamlOnce(path.join(folder, 'slack.yaml'), files.get('slack.yaml')!, compileSlackTemplate));
  if (files.has('webhook.yaml'))
    template.webhook = collect(compileYamlOnce(path.join(folder, 'webhook.yaml'), files.get('webhook.yaml')!, compileWebhookTemplate));

  const email = (['email.subject.liquid', 'email.text.liquid', 'email.html.liquid'] as const).filter((f) => files.has(f));
  if (email.length > 0) {
    const missing = (['email.subject.liquid', 'email.text.liquid'] as const).filter((f) => !files.has(f));
    for (const absent of missing) {
      issues.push({
        file: path.join(folder, email[0]!),
        path: '',
        message: `${absent} is missing: an email needs a subject and a text body (the HTML body is optional)`,
      });
    }
    // A value's line breaks are marked (`↵`), so that it cannot write lines of the email.
    const subject = liquidFile('email.subject.liquid', 'text');
    const text = liquidFile('email.text.liquid', 'text');
    const html = liquidFile('email.html.liquid', 'html');
    if (subject && text) template.email = { subject, text, ...(html && { html }) };
  }

  return issues.length > 0 ? { issues } : { template, issues };
}

function unknownFileMessage(template: string, entry: string): string {
  const guess = closestMatch(entry, TEMPLATE_FILES, 3);
  return `unknown file in template "${template}"${guess ? ` (did you mean ${guess}?)` : ''}; a template folder holds ${TEMPLATE_FILES.join(', ')}`;
}
