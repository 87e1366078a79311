// A loopback trace collector that decodes what the exporters really send: OTLP JSON, OTLP protobuf
// (a small wire-format reader over the OTLP trace protos) and Jaeger thrift (thriftrw with the IDL
// that jaeger-client ships).
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createMonitor, type Monitor, type ObsEvents, type ObsPlugin, silentLogger } from '@obs/core';
import { type LoopbackServer, listenLoopback, waitUntil } from '@obs/testing';
import { Thrift } from 'thriftrw';

/** A span as any of the three wire formats carries it, normalised. */
export interface WireSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Record<string, unknown>;
  /** 'UNSET' | 'OK' | 'ERROR' */
  readonly status: string;
  readonly statusMessage: string;
  readonly service: string;
  readonly events: readonly string[];
}

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Collector extends AsyncDisposable {
  readonly server: LoopbackServer;
  readonly requests: Received[];
  /** Every span received so far, decoded by content type. */
  spans(): WireSpan[];
  /** Resolves once at least `n` spans have arrived. */
  waitForSpans(n: number): Promise<WireSpan[]>;
  /** Resolves once at least `n` requests have arrived. */
  waitForRequests(n: number): Promise<void>;
  url(path: string): string;
  close(): Promise<void>;
}

export interface CollectorOptions {
  /** Answer with this status. @default 200 */
  readonly status?: number;
  /** Never answer (a collector that hangs). @default false */
  readonly hang?: boolean;
}

export async function startCollector(options: CollectorOptions = {}): Promise<Collector> {
  const requests: Received[] = [];
  const waiters: (() => void)[] = [];
  const server = await listenLoopback((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      for (const wake of waiters.splice(0)) wake();
      if (options.hang) return;
      res.writeHead(options.status ?? 200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  const spans = (): WireSpan[] => requests.flatMap(decode);
  const until = async (done: () => boolean): Promise<void> => {
    while (!done()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const close = () => server.close();
  return {
    server,
    requests,
    spans,
    async waitForSpans(n) {
      await until(() => spans().length >= n);
      return spans();
    },
    waitForRequests: (n) => until(() => requests.length >= n),
    url: (path) => new URL(path, server.url).href,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function decode(request: Received): WireSpan[] {
  const type = request.headers['content-type'] ?? '';
  if (type.includes('application/x-protobuf')) return decodeOtlpProtobuf(request.body);
  if (type.includes('application/json')) return decodeOtlpJson(JSON.parse(request.body.toString('utf8')));
  if (type.includes('application/x-thrift')) return decodeJaegerThrift(request.body);
  throw new Error(`unexpected content type ${type}`);
}

// ---- OTLP JSON -------------------------------------------------------------------------------

const STATUS = ['UNSET', 'OK', 'ERROR'];

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: JsonAnyValue[] };
}

function jsonValue(v: JsonAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(jsonValue);
  return undefined;
}

const jsonAttributes = (list: { key: string; value: JsonAnyValue }[] = []): Record<string, unknown> =>
  Object.fromEntries(list.map((kv) => [kv.key, jsonValue(kv.value)]));

// biome-ignore lint/suspicious/noExplicitAny: the OTLP JSON document, checked by the assertions.
function decodeOtlpJson(doc: any): WireSpan[] {
  const out: WireSpan[] = [];
  for (const rs of doc.resourceSpans ?? []) {
    const resource = jsonAttributes(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          attributes: jsonAttributes(s.attributes),
          status: STATUS[s.status?.code ?? 0]!,
          statusMessage: s.status?.message ?? '',
          service: String(resource['service.name']),
          events: (s.events ?? []).map((e: { name: string }) => e.name),
        });
      }
    }
  }
  return out;
}

// ---- OTLP protobuf ---------------------------------------------------------------------------

type Field = { wire: 0; value: bigint } | { wire: 1 | 5 | 2; value: Buffer };

/** Splits one protobuf message into its fields (field number to values, in order). */
function fields(buf: Buffer): Map<number, Field[]> {
  const out = new Map<number, Field[]>();
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buf[pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const number = key >>> 3;
    const wire = key & 7;
    let field: Field;
    if (wire === 0) field = { wire: 0, value: varint() };
    else if (wire === 1) {
      field = { wire: 1, value: buf.subarray(pos, pos + 8) };
      pos += 8;
    } else if (wire === 5) {
      field = { wire: 5, value: buf.subarray(pos, pos + 4) };
      pos += 4;
    } else if (wire === 2) {
      const length = Number(varint());
      field = { wire: 2, value: buf.subarray(pos, pos + length) };
      pos += length;
    } else throw new Error(`unsupported wire type ${wire}`);
    out.set(number, [...(out.get(number) ?? []), field]);
  }
  return out;
}

const bytesOf = (m: Map<number, Field[]>, n: number): Buffer[] =>
  (m.get(n) ?? []).map((f) => f.value as Buffer).filter((b) => Buffer.isBuffer(b));
const firstBytes = (m: Map<number, Field[]>, n: number): Buffer | undefined => bytesOf(m, n)[0];
const str = (m: Map<number, Field[]>, n: number): string => firstBytes(m, n)?.toString('utf8') ?? '';
const num = (m: Map<number, Field[]>, n: number): number => {
  const f = m.get(n)?.[0];
  return f?.wire === 0 ? Number(f.value) : 0;
};

function protoValue(buf: Buffer): unknown {
  const m = fields(buf);
  if (m.has(1)) return str(m, 1);
  if (m.has(2)) return num(m, 2) === 1;
  if (m.has(3)) return Number(BigInt.asIntN(64, (m.get(3)![0] as { value: bigint }).value));
  if (m.has(4)) return firstBytes(m, 4)!.readDoubleLE(0);
  if (m.has(5)) return bytesOf(fields(firstBytes(m, 5)!), 1).map(protoValue);
  return undefined;
}

const protoAttributes = (list: Buffer[]): Record<string, unknown> =>
  Object.fromEntries(
    list.map((kv) => {
      const m = fields(kv);
      const value = firstBytes(m, 2);
      return [str(m, 1), value === undefined ? undefined : protoValue(value)];
    }),
  );

function decodeOtlpProtobuf(body: Buffer): WireSpan[] {
  const out: WireSpan[] = [];
  for (const rs of bytesOf(fields(body), 1)) {
    const rsm = fields(rs);
    const resource = firstBytes(rsm, 1);
    const resourceAttributes = resource === undefined ? {} : protoAttributes(bytesOf(fields(resource), 1));
    for (const ss of bytesOf(rsm, 2)) {
      for (const s of bytesOf(fields(ss), 2)) {
        const m = fields(s);
        const status = firstBytes(m, 15);
        const sm = status === undefined ? new Map<number, Field[]>() : fields(status);
        out.push({
          traceId: firstBytes(m, 1)?.toString('hex') ?? '',
          spanId: firstBytes(m, 2)?.toString('hex') ?? '',
          parentSpanId: firstBytes(m, 4)?.toString('hex') ?? '',
          name: str(m, 5),
          attributes: protoAttributes(bytesOf(m, 9)),
          status: STATUS[num(sm, 3)]!,
          statusMessage: str(sm, 2),
          service: String(resourceAttributes['service.name']),
          events: bytesOf(m, 11).map((e) => str(fields(e), 2)),
        });
      }
    }
  }
  return out;
}

// ---- Jaeger thrift ---------------------------------------------------------------------------

const requireFromExporter = createRequire(createRequire(import.meta.url).resolve('@opentelemetry/exporter-jaeger'));
const jaegerIdl = join(
  dirname(requireFromExporter.resolve('jaeger-client/package.json')),
  'dist/src/jaeger-idl/thrift/jaeger.thrift',
);
const jaegerThrift = new Thrift({ source: readFileSync(jaegerIdl, 'ascii'), allowOptionalArguments: true });

interface ThriftTag {
  key: string;
  vType: string;
  vStr?: string | null;
  vDouble?: number | null;
  vBool?: boolean | null;
  vLong?: Buffer | null;
}

function tagValue(tag: ThriftTag): unknown {
  switch (tag.vType) {
    case 'STRING':
      return tag.vStr;
    case 'DOUBLE':
      return tag.vDouble;
    case 'BOOL':
      return tag.vBool;
    case 'LONG':
      return Number(Buffer.from(tag.vLong!).readBigInt64BE(0));
    default:
      return undefined;
  }
}

const hex = (value: Buffer | null | undefined): string => (value ? Buffer.from(value).toString('hex') : '');

function decodeJaegerThrift(body: Buffer): WireSpan[] {
  const result = jaegerThrift.Batch.rw.readFrom(body, 0);
  if (result.err) throw result.err;
  const batch = result.value as {
    process: { serviceName: string };
    spans: {
      traceIdHigh: Buffer;
      traceIdLow: Buffer;
      spanId: Buffer;
      parentSpanId: Buffer;
      operationName: string;
      tags: ThriftTag[] | null;
      logs: { fields: ThriftTag[] }[] | null;
    }[];
  };
  return batch.spans.map((s) => {
    const attributes = Object.fromEntries((s.tags ?? []).map((t) => [t.key, tagValue(t)]));
    const parent = hex(s.parentSpanId);
    return {
      traceId: hex(s.traceIdHigh) + hex(s.traceIdLow),
      spanId: hex(s.spanId),
      parentSpanId: /^0+$/.test(parent) ? '' : parent,
      name: s.operationName,
      attributes,
      status: String(attributes['otel.status_code'] ?? 'UNSET'),
      statusMessage: String(attributes['otel.status_description'] ?? ''),
      service: batch.process.serviceName,
      events: (s.logs ?? []).map((l) => String(l.fields.find((f) => f.key === 'event')?.vStr ?? '')),
    };
  });
}

// ---- monitors --------------------------------------------------------------------------------

/** Config for a monitor on ephemeral loopback ports. */
export const loopback = { metrics_port: 0, health_port: 0, host: '127.0.0.1' } as const;

/** A started monitor with the given plugins, and every event of the given types it emitted. */
export async function startMonitor(
  plugins: readonly ObsPlugin[],
  tracing: Record<string, unknown> = {},
): Promise<{ monitor: Monitor; events: Events }> {
  const monitor = createMonitor({ config: { ...loopback, tracing }, plugins, logger: silentLogger });
  const events = recordEvents(monitor);
  await monitor.start();
  return { monitor, events };
}

export interface Events {
  readonly errors: ObsEvents['obs:error'][];
  readonly dropped: ObsEvents['obs:dropped'][];
  readonly apiCalls: ObsEvents['api:called'][];
}

export function recordEvents(monitor: Monitor): Events {
  const events: Events = { errors: [], dropped: [], apiCalls: [] };
  monitor.bus.on('obs:error', (e) => void events.errors.push(e));
  monitor.bus.on('obs:dropped', (e) => void events.dropped.push(e));
  monitor.bus.on('api:called', (e) => void events.apiCalls.push(e));
  return events;
}

/** Waits until `check` holds, polling on the event loop without a timer of its own per turn. */
export async function eventually(check: () => boolean): Promise<void> {
  await waitUntil(check, { what: 'the spans', intervalMs: 5 });
}
