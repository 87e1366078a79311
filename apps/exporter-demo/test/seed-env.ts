// The seed's names, which the demo's config.toml sets (the defaults of @obs are neutral): tests that run the
// demo with a config file of their own give them through the environment, as a user could.
export const SEED_ENV: Readonly<Record<string, string>> = {
  MONITORING_PROMETHEUS_NAMESPACE: 'trakt',
  MONITORING_PROMETHEUS_EXPORT_KINDS: 'movies,ratings,watchlist',
  MONITORING_TRACING_SERVICE_NAME: 'export-trakt-4-letterboxd',
  MONITORING_DASHBOARDS_SEED_DASHBOARD: 'true',
};
