// A real Prometheus (Debian's 2.42) for the differential tests: it scrapes or receives what our packages
// produce, and its answers are what ours are compared with.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, type RunningTool, startTool } from './tools.ts';

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** The folder for prometheus.yml and the TSDB (the caller removes it). */
  readonly dir: string;
  /** `host:port` targets scraped every `scrapeInterval` as job `job`. @default none */
  readonly targets?: readonly string[];
  /** @default "app" */
  readonly job?: string;
  /** @default "1s" */
  readonly scrapeInterval?: string;
  /** The whole prometheus.yml instead (targets, job and scrapeInterval are then ignored). */
  readonly config?: string;
  /** Further flags: `--enable-feature=native-histograms`, `--web.enable-remote-write-receiver`. */
  readonly flags?: readonly string[];
  /** A name for the TSDB folder, when one `dir` holds several servers. @default "tsdb" */
  readonly name?: string;
  /** The port to listen on (a receiver that comes up where a client already sends). @default a free one */
  readonly port?: number;
}

/** A running Prometheus: its base URL (`http://127.0.0.1:port`) besides the process. */
export interface RunningPrometheus extends RunningTool {
  readonly url: string;
}

/** Starts `binary` (see {@link debianTool}) on a free loopback port and waits until /-/ready answers. */
export async function startPrometheus(binary: string, options: PrometheusOptions): Promise<RunningPrometheus> {
  const name = options.name ?? 'tsdb';
  const yml = join(options.dir, `${name}.yml`);
  const targets = options.targets ?? [];
  writeFileSync(
    yml,
    options.config ??
      [
        'global:',
        `  scrape_interval: ${options.scrapeInterval ?? '1s'}`,
        ...(targets.length === 0
          ? []
          : [
              'scrape_configs:',
              `  - job_name: ${options.job ?? 'app'}`,
              '    static_configs:',
              `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
            ]),
        '',
      ].join('\n'),
  );
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const tool = await startTool(
    binary,
    [
      `--config.file=${yml}`,
      `--storage.tsdb.path=${join(options.dir, name)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(options.flags ?? []),
    ],
    async () => (await fetch(`${url}/-/ready`)).ok,
    30_000,
  );
  return { ...tool, url };
}
