// The headers remote write sets itself, which `remote_write_headers` may not replace. Its own module so that
// validating the options does not load remote write and the PromQL library with it (#22).

/** Prometheus sends these itself; a user header must not replace them. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'content-encoding',
  'content-type',
  'content-length',
  'x-prometheus-remote-write-version',
  'user-agent',
  'host',
  'connection',
]);
