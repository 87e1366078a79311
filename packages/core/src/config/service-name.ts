// The name an app's telemetry carries when the config names none: the app's own, never ours.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** OpenTelemetry's service name for a Node process that names none. */
const UNKNOWN = 'unknown_service:node';

function nearestPackageName(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const name = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name;
      if (typeof name === 'string' && name !== '') return name;
    } catch {
      // no package.json here, or not JSON: look further up
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The default `service_name` (and Pushgateway job): the app's package name, from `npm_package_name` (set when
 * npm or pnpm runs a script) or the `package.json` nearest the working directory, else OpenTelemetry's
 * `unknown_service:node`.
 */
export function defaultServiceName(
  cwd: string = process.cwd(),
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const fromEnv = env['npm_package_name'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return nearestPackageName(cwd) ?? UNKNOWN;
}
