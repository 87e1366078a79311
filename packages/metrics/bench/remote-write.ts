// pnpm bench:remote-write: what remote write costs one process. A receiver in a child process (so this
// process's CPU time is the sender's alone) takes the requests on loopback and answers 204, as Prometheus
// does. Printed: samples/s sent (queue + protobuf + snappy + HTTP), CPU per collection of 10,000 series and
// its share of one core at a 15 s interval, and the same collection rendered as /metrics text for a scrape
// (the baseline: what the pull path costs the app for the same series).
import { type ChildProcess, spawn } from 'node:child_process';
import type { MetricSample } from '@obs/core';
import { silentLogger } from '@obs/core';
import { createMetrics } from '../src/index.ts';
import { encodeLabels, encodeWriteRequest, snappyBlock } from '../src/internal/remote-write-proto.ts';
import { createRemoteWriter } from '../src/remote-write.ts';

const SERIES = 10_000;
const RECEIVER = `
const http = require('node:http');
let bytes = 0;
const server = http.createServer((req, res) => {
  req.on('data', (d) => { bytes += d.length; });
  req.on('end', () => res.writeHead(204).end());
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;

async function startReceiver(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(Number(d))));
  return { child, url: `http://127.0.0.1:${port}/api/v1/write` };
}

// 2,000 endpoints x 5 statuses, the shape of trakt_api_requests_total at its cardinality limit.
function collection(round: number): MetricSample[] {
  const out: MetricSample[] = [];
  for (let e = 0; e < SERIES / 5; e++)
    for (const status of ['200', '201', '429', '500', '503'])
      out.push({ name: 'trakt_api_requests_total', labels: { endpoint: `endpoint_${e}`, status }, value: e + round });
  return out;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const { child, url } = await startReceiver();
process.on('exit', () => child.kill());
let sent = 0;
const writer = createRemoteWriter({
  url,
  headers: {},
  bearerToken: '',
  username: '',
  password: '',
  intervalMs: 3_600_000,
  timeoutMs: 30_000,
  maxSamplesPerSend: 2000,
  capacity: 1_000_000,
  externalLabels: { job: 'bench', instance: 'host-1' },
  metadata: () => [],
  onOutcome: (outcome, n) => {
    if (outcome === 'sent') sent += n;
    else throw new Error(`bench: ${n} samples ${outcome}`);
  },
  onError: (error) => {
    throw error;
  },
  logger: silentLogger,
});

const collections = Array.from({ length: 8 }, (_, i) => collection(i));
// Warm-up: the JIT, the series cache (labels encoded once per series), the HTTP connection.
for (let i = 0; i < 3; i++) {
  writer.enqueue(Date.now(), collections[i]!);
  await writer.flush();
}

// 1. Throughput: many collections back to back.
const rounds = 40;
let wall = performance.now();
let cpu = cpuMs();
const before = sent;
for (let i = 0; i < rounds; i++) {
  writer.enqueue(Date.now(), collections[i % collections.length]!);
  await writer.flush();
}
wall = performance.now() - wall;
cpu = cpuMs() - cpu;
const samplesPerSecond = ((sent - before) / wall) * 1000;
const cpuPerCollection = cpu / rounds;

// 2. The parts: encoding and snappy alone, for one collection of 10,000 samples (5 requests of 2,000).
const t = new Float64Array(SERIES).fill(Date.now());
const v = new Float64Array(SERIES).map((_, i) => i);
const stale = new Uint8Array(SERIES);
const refs = collections[0]!.map((s) => ({
  labels: encodeLabels([
    ['__name__', s.name],
    ['endpoint', s.labels['endpoint']!],
    ['instance', 'host-1'],
    ['job', 'bench'],
    ['status', s.labels['status']!],
  ]),
}));
const batches = Array.from({ length: SERIES / 2000 }, (_, b) => Array.from({ length: 2000 }, (_, k) => b * 2000 + k));
let encodeMs = 0;
let snappyMs = 0;
let rawBytes = 0;
let wireBytes = 0;
for (let r = 0; r < 20; r++) {
  for (const indices of batches) {
    const a = performance.now();
    const raw = encodeWriteRequest(refs, t, v, stale, indices);
    const b = performance.now();
    const wire = snappyBlock(raw);
    const c = performance.now();
    if (r >= 5) {
      encodeMs += b - a;
      snappyMs += c - b;
      rawBytes += raw.length;
      wireBytes += wire.length;
    }
  }
}

// 3. Baseline: the same 10,000 series rendered as Prometheus text, as each scrape of /metrics does.
const ours = createMetrics({
  namespace: 'trakt',
  defaultMetrics: false,
  exportKinds: [],
  cardinalityLimit: 100_000,
  exemplars: false,
});
const family = ours.registry.getSingleMetric('trakt_api_requests_total') as unknown as {
  child(values: string[]): { value: number };
};
for (const s of collections[0]!) family.child([s.labels['endpoint']!, s.labels['status']!]).value = s.value;
for (const metric of ours.registry.getMetricsAsArray())
  if (metric.name !== 'trakt_api_requests_total') ours.registry.removeSingleMetric(metric.name);
for (let i = 0; i < 3; i++) await ours.render();
let renderCpu = cpuMs();
for (let i = 0; i < 20; i++) Buffer.byteLength(await ours.render());
renderCpu = (cpuMs() - renderCpu) / 20;

child.kill();
const share = (cpuPerCollection / 15_000) * 100;
const fmt = (n: number, d = 1): string => n.toLocaleString('en-US', { maximumFractionDigits: d });
console.log(
  `@obs/metrics remote write, ${SERIES.toLocaleString('en-US')} series, loopback receiver in another process`,
);
console.log(
  `  throughput        ${fmt(samplesPerSecond, 0)} samples/s (queue + protobuf + snappy + HTTP, 2,000 per request)`,
);
console.log(`  per collection    ${fmt(cpuPerCollection, 2)} ms CPU for ${SERIES.toLocaleString('en-US')} samples`);
console.log(`  at a 15 s interval ${fmt(share, 3)} % of one core (target < 1 %)`);
console.log(
  `  parts, per 10,000 samples: encode ${fmt(encodeMs / 15, 2)} ms, snappy ${fmt(snappyMs / 15, 2)} ms; ${fmt(rawBytes / 15 / SERIES, 1)} bytes/sample raw, ${fmt(wireBytes / 15 / SERIES, 1)} on the wire`,
);
console.log(
  `  baseline: rendering the same series as /metrics text costs ${fmt(renderCpu, 2)} ms CPU per scrape: remote write = ${fmt(cpuPerCollection / renderCpu, 2)}x a scrape`,
);
if (share >= 1) process.exitCode = 1;
