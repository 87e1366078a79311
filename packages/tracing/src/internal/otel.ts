// OpenTelemetry's packages, required as the CommonJS they ship (#22). Imported from ESM, node also runs its
// CommonJS export lexer over each package's entry and the files it re-exports, on top of loading them:
// 10 to 30 ms of a cold start for names that `require` hands over as they are.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @internal `@opentelemetry/api`. */
export const otelApi: typeof import('@opentelemetry/api') = require('@opentelemetry/api');
/** @internal `@opentelemetry/core`. */
export const otelCore: typeof import('@opentelemetry/core') = require('@opentelemetry/core');
/** @internal `@opentelemetry/resources`. */
export const otelResources: typeof import('@opentelemetry/resources') = require('@opentelemetry/resources');
/** @internal `@opentelemetry/sdk-trace-node` (which re-exports `@opentelemetry/sdk-trace-base`). */
export const otelSdk: typeof import('@opentelemetry/sdk-trace-node') = require('@opentelemetry/sdk-trace-node');
/** @internal `@opentelemetry/context-async-hooks`. */
export const otelContext: typeof import('@opentelemetry/context-async-hooks') = require('@opentelemetry/context-async-hooks');
