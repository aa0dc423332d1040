/**
 * Watches the config file, the rule files and the templates, and calls
 * `onChange` once a burst of changes has settled (editors write a file in
 * several steps; a `git checkout` changes many).
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

const SETTLE_MS = 250;

export function watchConfig(paths: { configFile: string; rulesDir: string; templatesDir: string }, onChange: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, SETTLE_MS);
  };
  const configName = path.basename(paths.configFile);
  const watchers: FSWatcher[] = [
    // The folder, not the file: editors replace a file by renaming a new one over it.
    watch(path.dirname(paths.configFile), (_event, name) => {
      if (name === configName || name === '.env') changed();
    }),
    watch(paths.rulesDir, changed),
    watch(paths.templatesDir, { recursive: true }, changed),
  ];
  for (const watcher of watchers) watcher.on('error', () => undefined);
  return () => {
    clearTimeout(timer);
    for (const watcher of watchers) watcher.close();
  };
}
