// The keys @obs/alerts adds to `[monitoring.alerts]`, and what they mean for the notification pipeline and
// the generated Alertmanager config: one reading of the settings for both.
import { readFileSync } from 'node:fs';
import {
  type AlertsConfig,
  type ConfigIssue,
  type ConfigSection,
  configDuration,
  configIssueAt,
  type ObsConfig,
  ObsConfigError,
  resolveConfigPath,
  z,
} from '@obs/core';
import { hourIn } from './internal/time-zone.ts';
import { isHttpUrl } from './internal/url.ts';
import type { EmailChannelOptions } from './notify/channels/email.ts';
import {
  type LabelMatcher,
  type QuietHours,
  type Route,
  type RouteDefaults,
  regexProblem,
  SILENCE_LIMITS,
  type SilenceLimits,
} from './notify/dispatcher.ts';

/** One `[[monitoring.alerts.routes]]` table. Durations are in ms. */
export interface AlertsRouteConfig {
  /** Alertmanager matchers: `severity="critical"`, `endpoint=~"sync.*"`, `team!=ops`. @default [] (every alert) */
  readonly matchers: readonly string[];
  /** Channel names (`log`, `email`, `slack`, `webhook`, or one added in code). @default every channel */
  readonly channels?: readonly string[] | undefined;
  readonly group_by?: readonly string[] | undefined;
  readonly group_wait?: number | undefined;
  readonly group_interval?: number | undefined;
  readonly repeat_interval?: number | undefined;
  /** Keep matching the following routes. @default false */
  readonly continue: boolean;
}

/** `[monitoring.alerts.quiet_hours]`. */
export interface AlertsQuietHoursConfig {
  readonly start_hour: number;
  readonly end_hour: number;
  /** An IANA time zone (`Europe/Paris`), daylight saving included; wins over `utc_offset_minutes`. @default "" */
  readonly time_zone: string;
  /** @default 0 (UTC) */
  readonly utc_offset_minutes: number;
  /** Severities still notified. @default ["critical"] */
  readonly allow: readonly string[];
}

declare module '@obs/core' {
  /** `[monitoring.alerts]`, every key declared here: the seed's first, then ours. */
  interface AlertsConfig {
    /** @default true */
    readonly enabled: boolean;
    /** SMTP server for e-mail notifications; empty disables e-mail. @default "" */
    readonly smtp_host: string;
    /** @default 587 */
    readonly smtp_port: number;
    /** @default "" */
    readonly smtp_user: string;
    /** @default "" */
    readonly smtp_password: string;
    /** @default "" */
    readonly email_from: string;
    /** @default [] */
    readonly email_to: readonly string[];
    /** Slack incoming webhook (or any Alertmanager-style webhook); empty disables it. @default "" */
    readonly webhook_url: string;
    /** Rule file (seed YAML or Prometheus rule groups), relative to the TOML file; empty uses the shipped rules. @default "" */
    readonly rules_file: string;
    /** How often the rules are evaluated. @default "15s" */
    readonly evaluation_interval: number;
    /** Labels that group alerts into one notification; `["..."]` groups by all. @default ["alertname"] */
    readonly group_by: readonly string[];
    /** Wait before the first notification of a new group. @default "30s" */
    readonly group_wait: number;
    /** Wait before notifying about changes in a group. @default "5m" */
    readonly group_interval: number;
    /** Wait before repeating a notification that still holds. @default "4h" */
    readonly repeat_interval: number;
    /** Routes tried in order (`[[monitoring.alerts.routes]]`); none sends every alert to every channel. @default [] */
    readonly routes: readonly AlertsRouteConfig[];
    /** Only alerts whose severity is allowed are notified in this daily window. @default none */
    readonly quiet_hours?: AlertsQuietHoursConfig | undefined;
    /**
     * TLS is required unless this says `none`. `auto`: implicit TLS on port 465, STARTTLS elsewhere (a server that
     * does not offer it gets no mail and no credentials); `starttls`: STARTTLS; `tls`: implicit TLS; `none`: clear
     * text, never STARTTLS (a warning at start). @default "auto"
     */
    readonly smtp_tls: 'auto' | 'starttls' | 'tls' | 'none';
    /** PEM file of the CA that signed the SMTP server's certificate. @default "" (Node's CAs) */
    readonly smtp_ca_file: string;
    /** Accept any SMTP server certificate (testing only). @default false */
    readonly smtp_insecure_skip_verify: boolean;
    /** Hand alerts to this Alertmanager (API v2) instead of notifying from the app. @default "" */
    readonly alertmanager_url: string;
    /** JSON file keeping silences and what was notified across restarts. @default "" (none) */
    readonly state_file: string;
    /**
     * Where people reach this app's health listener; notifications link to its `/alerts`; `$externalURL` in
     * templates (Prometheus' `--web.external-url`). @default ""
     */
    readonly external_url: string;
    /**
     * Labels of this app's alerts towards the outside (Prometheus' `global.external_labels`): `$externalLabels` in
     * templates, added to notifications and to the alerts handed to Alertmanager, never to stored series. Those of
     * `[monitoring.prometheus] external_labels` (remote write) apply too; these win on the same name. @default {}
     */
    readonly external_labels: Readonly<Record<string, string>>;
    /**
     * After a restart, a pending or firing alert keeps its active-since time, and never fires sooner than this from
     * the restart; a rule whose `for` is shorter is not restored (Prometheus' `--rules.alert.for-grace-period`). Needs
     * `state_file`. @default "10m"
     */
    readonly for_grace_period: number;
    /** State older than this is not restored (Prometheus' `--rules.alert.for-outage-tolerance`). @default "1h" */
    readonly for_outage_tolerance: number;
    /** Active and pending silences at most (Alertmanager's `--silences.max-silences`); 0: no limit. @default 1000 */
    readonly max_silences: number;
    /** Bytes of one silence's matchers, author and comment (Alertmanager's `--silences.max-per-silence-bytes`); 0: no limit. @default 4096 */
    readonly max_silence_bytes: number;
    /** Longest time from now to a silence's end; 0: no limit. @default "8760h" (one year) */
    readonly max_silence_duration: number;
    /** How long expired silences are kept and listed (Alertmanager's `--data.retention`). @default "120h" */
    readonly silence_retention: number;
  }
}

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/**
 * Parses one Alertmanager matcher (`name="value"`, `name=~"regex"`, `name!=value`, `name!~"regex"`).
 * @returns the matcher, or a message saying what is wrong
 */
export function parseMatcher(text: string): LabelMatcher | string {
  const m = MATCHER.exec(text);
  if (m === null) return `must be a matcher like severity="critical" (got ${JSON.stringify(text)})`;
  const [, name, op, raw] = m as unknown as [string, string, string, string];
  let value = raw;
  if (raw.startsWith('"')) {
    try {
      value = JSON.parse(raw) as string;
    } catch {
      return `has a badly quoted value (got ${JSON.stringify(text)})`;
    }
  } else if (/[\s"'=~!,{}]/.test(raw)) {
    // As Alertmanager: an unquoted value is one plain word.
    return `must be a matcher like severity="critical" (got ${JSON.stringify(text)})`;
  }
  const isRegex = op === '=~' || op === '!~';
  if (isRegex) {
    // RE2, as Alertmanager: what passes here matches in linear time at run time.
    const problem = regexProblem(value);
    if (problem !== undefined) return `(matcher ${JSON.stringify(name)}) ${problem}`;
  }
  return { name, value, isRegex, isEqual: op === '=' || op === '=~' };
}

const labelNames = z.array(
  z.string().refine((s) => s === '...' || LABEL.test(s), { message: 'must be a label name or "..."' }),
);
const matcher = z.string().superRefine((text, ctx) => {
  const parsed = parseMatcher(text);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});
const hour = z.number().int().min(0).max(23);
const httpUrl = () =>
  z
    .string()
    .refine((s) => s === '' || isHttpUrl(s), {
      message: 'must be an http:// or https:// URL, or empty',
    })
    .default('');

/**
 * `[monitoring.alerts]`, all of it: the seed's keys (channels, rules, evaluation), then grouping and timing,
 * routes, quiet hours, SMTP TLS, Alertmanager, state and silence limits.
 */
export const alertsConfigSection: ConfigSection = {
  name: 'alerts',
  schema: z.strictObject({
    enabled: z.boolean().default(true),
    smtp_host: z.string().default(''),
    smtp_port: z.number().int().min(0).max(65_535).default(587),
    smtp_user: z.string().default(''),
    smtp_password: z.string().default(''),
    email_from: z.string().default(''),
    email_to: z.array(z.string().regex(/^[^\s@]+@[^\s@]+$/, { message: 'must be an e-mail address' })).default([]),
    webhook_url: httpUrl(),
    rules_file: z.string().default(''),
    evaluation_interval: configDuration('15s'),
    group_by: labelNames.default(['alertname']),
    group_wait: configDuration('30s', { allowZero: true }),
    group_interval: configDuration('5m'),
    repeat_interval: configDuration('4h'),
    routes: z
      .array(
        z.strictObject({
          matchers: z.array(matcher).default([]),
          channels: z.array(z.string().min(1)).optional(),
          group_by: labelNames.optional(),
          group_wait: configDuration(undefined, { allowZero: true }),
          group_interval: configDuration(undefined),
          repeat_interval: configDuration(undefined),
          continue: z.boolean().default(false),
        }),
      )
      .default([]),
    quiet_hours: z
      .strictObject({
        start_hour: hour,
        end_hour: hour,
        time_zone: z
          .string()
          .refine((tz) => tz === '' || hourIn(tz) !== null, {
            message: 'must be an IANA time zone like "Europe/Paris"',
          })
          .default(''),
        utc_offset_minutes: z.number().int().min(-840).max(840).default(0),
        allow: z.array(z.string()).default(['critical']),
      })
      .optional(),
    smtp_tls: z.enum(['auto', 'starttls', 'tls', 'none']).default('auto'),
    smtp_ca_file: z.string().default(''),
    smtp_insecure_skip_verify: z.boolean().default(false),
    alertmanager_url: httpUrl(),
    external_url: httpUrl(),
    external_labels: z
      .record(
        z.string().regex(LABEL, { message: 'must be a label name' }),
        z.string().min(1, { message: 'must not be empty' }),
      )
      .default({}),
    for_grace_period: configDuration('10m', { allowZero: true }),
    for_outage_tolerance: configDuration('1h', { allowZero: true }),
    state_file: z.string().default(''),
    max_silences: z.number().int().min(0).default(SILENCE_LIMITS.maxSilences),
    max_silence_bytes: z.number().int().min(0).default(SILENCE_LIMITS.maxSilenceBytes),
    max_silence_duration: configDuration('8760h', { allowZero: true }),
    silence_retention: configDuration('120h', { allowZero: true }),
  }),
};

/**
 * `[monitoring.alerts]` with its file paths (`rules_file`, `state_file`, `smtp_ca_file`) made absolute: relative
 * to the TOML file that sets them, as Prometheus resolves `rule_files`, else to the working directory.
 */
export function alertsSection(config: ObsConfig): AlertsConfig {
  // One set of external labels for the app, as Prometheus's global.external_labels: those of
  // [monitoring.prometheus] (remote write, when @obs/metrics declares them), then the alerts' own on top.
  const shared = (config.prometheus as { readonly external_labels?: Readonly<Record<string, string>> }).external_labels;
  return {
    ...config.alerts,
    external_labels: { ...shared, ...config.alerts.external_labels },
    rules_file: resolveConfigPath(config, 'alerts.rules_file'),
    state_file: resolveConfigPath(config, 'alerts.state_file'),
    smtp_ca_file: resolveConfigPath(config, 'alerts.smtp_ca_file'),
  };
}

// A config built without this section (core alone) lacks the keys: fall back to the defaults above.
type Partial_ = Partial<AlertsConfig> & Pick<AlertsConfig, 'smtp_host'>;

/** The root route of `[monitoring.alerts]`: what every route inherits. */
export function routeDefaultsFromConfig(config: AlertsConfig): RouteDefaults {
  const c = config as Partial_;
  return {
    ...(c.group_by === undefined ? {} : { groupBy: c.group_by }),
    ...(c.group_wait === undefined ? {} : { groupWaitMs: c.group_wait }),
    ...(c.group_interval === undefined ? {} : { groupIntervalMs: c.group_interval }),
    ...(c.repeat_interval === undefined ? {} : { repeatIntervalMs: c.repeat_interval }),
  };
}

/** The `[[monitoring.alerts.routes]]` as dispatcher routes; what a route leaves out it inherits. */
export function routesFromConfig(config: AlertsConfig): Route[] | undefined {
  const routes = (config as Partial_).routes;
  if (routes === undefined || routes.length === 0) return undefined;
  return routes.map((r) => ({
    matchers: r.matchers.map((m) => parseMatcher(m) as LabelMatcher),
    ...(r.channels === undefined ? {} : { channels: r.channels }),
    ...(r.group_by === undefined ? {} : { groupBy: r.group_by }),
    ...(r.group_wait === undefined ? {} : { groupWaitMs: r.group_wait }),
    ...(r.group_interval === undefined ? {} : { groupIntervalMs: r.group_interval }),
    ...(r.repeat_interval === undefined ? {} : { repeatIntervalMs: r.repeat_interval }),
    ...(r.continue ? { continue: true } : {}),
  }));
}

/** `[monitoring.alerts.quiet_hours]` as the dispatcher's quiet hours. */
export function quietHoursFromConfig(config: AlertsConfig): QuietHours | undefined {
  const q = (config as Partial_).quiet_hours;
  return q === undefined
    ? undefined
    : {
        startHour: q.start_hour,
        endHour: q.end_hour,
        ...(q.time_zone ? { timeZone: q.time_zone } : { utcOffsetMinutes: q.utc_offset_minutes }),
        allow: q.allow,
      };
}

/** `max_silences`, `max_silence_bytes`, `max_silence_duration` and `silence_retention` as the dispatcher's limits. */
export function silenceLimitsFromConfig(config: AlertsConfig): SilenceLimits {
  const c = config as Partial_;
  return {
    ...(c.max_silences === undefined ? {} : { maxSilences: c.max_silences }),
    ...(c.max_silence_bytes === undefined ? {} : { maxSilenceBytes: c.max_silence_bytes }),
    ...(c.max_silence_duration === undefined ? {} : { maxDurationMs: c.max_silence_duration }),
    ...(c.silence_retention === undefined ? {} : { retentionMs: c.silence_retention }),
  };
}

/**
 * The TLS part of the e-mail channel's options: TLS required unless `smtp_tls = "none"`.
 * @throws ObsConfigError naming `monitoring.alerts.smtp_ca_file` (with the TOML file and line when `root` is the
 * loaded config) when the CA file cannot be read
 */
export function smtpTlsFromConfig(
  config: AlertsConfig,
  root?: ObsConfig,
): Pick<EmailChannelOptions, 'secure' | 'requireTLS' | 'ignoreTLS' | 'tls'> {
  const c = config as Partial_;
  const mode = c.smtp_tls ?? 'auto';
  const tls: { ca?: string; rejectUnauthorized?: boolean } = {};
  if (c.smtp_ca_file !== undefined && c.smtp_ca_file !== '') {
    try {
      tls.ca = readFileSync(c.smtp_ca_file, 'utf8');
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      const message = `cannot read ${JSON.stringify(c.smtp_ca_file)} (${why})`;
      throw new ObsConfigError('@obs/alerts', [
        root === undefined
          ? { path: 'monitoring.alerts.smtp_ca_file', message }
          : configIssueAt(root, 'alerts.smtp_ca_file', message),
      ]);
    }
  }
  if (c.smtp_insecure_skip_verify === true) tls.rejectUnauthorized = false;
  return {
    ...(mode === 'tls' ? { secure: true } : {}),
    ...(mode === 'starttls' ? { secure: false, requireTLS: true } : {}),
    ...(mode === 'none' ? { secure: false, requireTLS: false, ignoreTLS: true } : {}),
    ...(Object.keys(tls).length === 0 ? {} : { tls }),
  };
}

/**
 * The e-mail channel's keys, each needing the others. What was asked for and cannot work (recipients without a
 * server, a user without a password) is an error naming the missing key, located at the key that is set. A
 * server without recipients (the seed's `smtp_host` and `smtp_port` without `email_to`) asks nobody to be
 * mailed: the channel is off, and said so by a warning naming `email_to`, so that the seed's file still starts.
 * @returns the warnings, each located like an issue
 * @throws ObsConfigError `OBS_ERR_CONFIG_INVALID` naming `monitoring.alerts.<missing key>`
 */
export function checkChannelConfig(config: ObsConfig): ConfigIssue[] {
  const c = config.alerts as Partial<AlertsConfig>;
  const host = c.smtp_host ?? '';
  const to = c.email_to ?? [];
  const issues: ConfigIssue[] = [];
  const missing = (key: string, because: string, message: string): void => {
    issues.push({ ...configIssueAt(config, `alerts.${because}`, message), path: `monitoring.alerts.${key}` });
  };
  const warnings: ConfigIssue[] = [];
  if (host !== '' && to.length === 0)
    warnings.push({
      ...configIssueAt(config, 'alerts.smtp_host', ''),
      path: 'monitoring.alerts.email_to',
      message:
        'is not set: smtp_host names a mail server but nobody to mail, so the e-mail channel is off (set email_to, or remove smtp_host)',
    });
  if (host === '') {
    const set = (['email_to', 'email_from', 'smtp_user', 'smtp_password', 'smtp_ca_file'] as const).find((k) => {
      const v = c[k];
      return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== '';
    });
    if (set !== undefined) missing('smtp_host', set, `is required when ${set} is set: without it no e-mail is sent`);
  }
  if ((c.smtp_user ?? '') !== '' && (c.smtp_password ?? '') === '')
    missing('smtp_password', 'smtp_user', 'is required when smtp_user is set: the server would refuse the login');
  if ((c.smtp_password ?? '') !== '' && (c.smtp_user ?? '') === '')
    missing('smtp_user', 'smtp_password', 'is required when smtp_password is set: the password would not be used');
  if (issues.length > 0) throw new ObsConfigError('@obs/alerts', issues);
  return warnings;
}
