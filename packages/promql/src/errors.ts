// The coded errors of @obs/promql. A library of its own, so its error class does not come from @obs/core;
// the codes follow the same OBS_ERR_<AREA>_<WHAT> convention and are listed in docs/errors.md.

/** Every error code that `@obs/promql` throws (kept in step with docs/errors.md). */
export const promqlErrorCodes: Readonly<Record<PromqlErrorCode, string>> = Object.freeze({
  OBS_ERR_PROMQL_PARSE: 'An expression does not parse, or its types do not fit (the message gives line and column).',
  OBS_ERR_PROMQL_UNSUPPORTED:
    'An expression uses a function or construct outside the engine (native-histogram-only constructs, info(), the anchored/smoothed/fill modifiers), named with its position.',
  OBS_ERR_PROMQL_EVAL:
    'Prometheus would fail the query at evaluation (duplicate series on the "one" side of a match, a range query over a range vector).',
  OBS_ERR_PROMQL_SERIES: 'A series in promtool\'s notation (`metric{a="b"} 0+10x3 _ stale`) is malformed.',
  OBS_ERR_PROMQL_TEST_SCRIPT:
    'A PromQL test script given to `obs-promql promqltest` is malformed or missing, named as file:line.',
});

/** The codes of {@link PromqlError}. */
export type PromqlErrorCode =
  | 'OBS_ERR_PROMQL_PARSE'
  | 'OBS_ERR_PROMQL_UNSUPPORTED'
  | 'OBS_ERR_PROMQL_EVAL'
  | 'OBS_ERR_PROMQL_SERIES'
  | 'OBS_ERR_PROMQL_TEST_SCRIPT';

/** Where in an expression a parse error is, both 1-based. */
export interface ExprPosition {
  readonly line: number;
  readonly column: number;
}

/** An error of @obs/promql, with a stable `code` and, for parse errors, the position in the expression. */
export class PromqlError extends Error {
  override name = 'PromqlError';
  readonly code: PromqlErrorCode;
  /** Where a parse or unsupported-construct error is in the expression. */
  readonly position: ExprPosition | undefined;
  constructor(code: PromqlErrorCode, message: string, options?: ErrorOptions & { position?: ExprPosition }) {
    super(message, options);
    this.code = code;
    this.position = options?.position;
  }
}
