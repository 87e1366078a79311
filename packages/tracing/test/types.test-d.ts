import type { Monitor, ObsConfig } from '@obs/core';
import type { Span, Tracer } from '@opentelemetry/api';
import { expectTypeOf, test } from 'vitest';
import { tracingError } from '../src/errors.ts';
import {
  type TracingErrorCode,
  type TracingPlugin,
  traceApiCall,
  type tracingErrorCodes,
  tracingPlugin,
  withSpan,
} from '../src/index.ts';

test('the plugin provides a typed tracer and adds typed keys to [monitoring.tracing]', () => {
  expectTypeOf<ObsConfig['tracing']['otlp_protocol']>().toEqualTypeOf<'http/protobuf' | 'http/json'>();
  expectTypeOf<ObsConfig['tracing']['flush_timeout']>().toEqualTypeOf<number>();
  expectTypeOf(tracingPlugin()).toEqualTypeOf<TracingPlugin>();
  const monitor = {} as Monitor;
  expectTypeOf(monitor.service('tracing.tracer')).toEqualTypeOf<Tracer>();
});

test('withSpan keeps the return type of fn, sync or async; traceApiCall always resolves', () => {
  expectTypeOf(withSpan('a', undefined, () => 1)).toEqualTypeOf<number>();
  expectTypeOf(withSpan('a', { k: 'v' }, async () => 'x')).toEqualTypeOf<Promise<string>>();
  expectTypeOf(withSpan('a', undefined, (span) => span)).toEqualTypeOf<Span>();
  expectTypeOf(traceApiCall({} as Monitor, 'e', () => 1)).toEqualTypeOf<Promise<number>>();
  expectTypeOf(traceApiCall({} as Monitor, 'e', async () => ({ status: 200 }))).toEqualTypeOf<
    Promise<{ status: number }>
  >();
});

test('error codes are a closed union: a misspelt code does not compile (#20)', () => {
  expectTypeOf<keyof typeof tracingErrorCodes>().toEqualTypeOf<TracingErrorCode>();
  // @ts-expect-error a code with a typo is not a TracingErrorCode
  tracingError('OBS_ERR_TRACING_EXPOT', 'x');
  // @ts-expect-error another package's code is not one either
  tracingError('OBS_ERR_HEALTH_STOPPED', 'x');
});
