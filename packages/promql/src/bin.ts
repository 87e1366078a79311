#!/usr/bin/env node
// The obs-promql command. A file of its own, so that it runs however it is reached (a package
// manager's shim, a symlink, node dist/bin.js): cli.ts only defines the commands.
import { main } from './cli.ts';

process.exitCode = main(
  process.argv.slice(2),
  (s) => process.stdout.write(s),
  (s) => process.stderr.write(s),
);
