// Runs against @obs/promql installed from its tarball, alone (no other @obs package), with plain npm.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSampleStore, instantQuery, PromqlError, parse, rangeQuery } from '@obs/promql';

const store = createSampleStore({ retentionMs: 3_600_000 });
for (let t = 0; t <= 600_000; t += 15_000) {
  store.append({ __name__: 'http_requests_total', endpoint: 'a' }, t, t / 1000);
  store.append({ __name__: 'http_requests_total', endpoint: 'b' }, t, t / 500);
}
const q = parse('sum by (endpoint) (rate(http_requests_total[5m]))');
const instant = instantQuery(store, q, 600_000);
assert.equal(instant.value.type, 'vector');
const byEndpoint = Object.fromEntries(instant.value.samples.map((s) => [s.labels.endpoint, s.value]));
assert.ok(Math.abs(byEndpoint.a - 1) < 1e-9 && Math.abs(byEndpoint.b - 2) < 1e-9, JSON.stringify(byEndpoint));
const range = rangeQuery(store, q, { startMs: 300_000, endMs: 600_000, stepMs: 60_000 });
assert.equal(range.value.type, 'matrix');
assert.equal(range.value.series[0].t.length, 6);
assert.throws(
  () => parse('rate(x'),
  (err) => err instanceof PromqlError && err.code === 'OBS_ERR_PROMQL_PARSE',
);

// The bin, through the symlink npm made: a script that passes exits 0.
const dir = mkdtempSync(join(tmpdir(), 'obs-promql-smoke-'));
writeFileSync(join(dir, 'ok.test'), 'load 1m\n  x 1 2 3\n\neval instant at 2m x\n  x 3\n');
const out = execFileSync('node_modules/.bin/obs-promql', ['promqltest', dir], { encoding: 'utf8' });
assert.match(out, /1 run, 1 passed, 0 failed/);
console.log('smoke ok');
