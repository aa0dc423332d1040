/**
 * `herald check`: validates the config, the rules and the templates, then renders
 * every template a rule uses against the shipped samples of the events it
 * matches; prints every problem with its file and path and exits 1 on any.
 */
import { Command } from 'commander';
import { formatConfigIssue } from '../../core/errors.js';
import { checkTemplatesAgainstSamples } from '../../app/setup.js';
import { loadSetupOrExit } from '../config-option.js';

export function checkCommand(): Command {
  return new Command('check')
    .description('check the config, rules and templates (rendered against sample events); print every error')
    .action((_options, command: Command) => {
      const setup = loadSetupOrExit(command);
      const { issues, renders } = checkTemplatesAgainstSamples(setup);
      if (issues.length > 0) {
        process.stderr.write(`${issues.length} template error${issues.length === 1 ? '' : 's'}:\n${issues.map((i) => `  ${formatConfigIssue(i)}\n`).join('')}`);
        process.exit(1);
      }
      const { config, routing } = setup;
      process.stdout.write(
        `${config.file}: OK (${Object.keys(config.sources).length} sources, ${Object.keys(config.destinations).length} destinations, ` +
          `${routing.rules.rules.length} rules, ${routing.templates.names().length} templates, ${renders} sample renders)\n`,
      );
    });
}
