import { ObsConfigError, ObsError, type RouteHandler } from '@obs/core';
import type { Dispatcher, LabelMatcher } from './dispatcher.ts';

/** Largest body of `POST /silences`: 16 silences of `max_silence_bytes` (4 KiB) by default. */
const MAX_BODY = 64 * 1024;

class BodyTooLarge extends Error {}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function time(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  return undefined;
}

// Stops reading at MAX_BODY: the rest is never buffered, and the connection closes after the 413.
function readJson(req: NodeJS.ReadableStream): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > MAX_BODY) {
        req.removeListener('data', onData);
        req.removeListener('end', onEnd);
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(b);
    };
    const onEnd = (): void => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(error);
      }
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/**
 * `/alerts` (GET) and `/silences` (GET, POST, DELETE `/silences/<id>`) in Alertmanager's API v2 shapes, over the
 * dispatcher of the running monitor (503 while there is none); `changed` runs after each silence change.
 */
export function alertsRoutes(
  dispatcher: () => Dispatcher | undefined,
  changed: () => void = () => {},
): {
  alerts: RouteHandler;
  silences: RouteHandler;
} {
  const alerts: RouteHandler = (req, res) => {
    const d = dispatcher();
    if (d === undefined) return void res.status(503).json({ error: 'notifications are not running' });
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return void res.status(405).set('Allow', 'GET, HEAD').json({ error: 'method not allowed' });
    res.json(
      d.alerts().map((a) => ({
        labels: a.labels,
        annotations: a.annotations ?? {},
        startsAt: iso(a.startsAt),
        value: a.value,
        fingerprint: a.fingerprint,
        status: { state: a.muted ? 'suppressed' : 'active' },
      })),
    );
  };

  const silences: RouteHandler = (req, res) => {
    const d = dispatcher();
    if (d === undefined) return void res.status(503).json({ error: 'notifications are not running' });
    const id = /^\/([^/]+)$/.exec(req.path)?.[1];
    if (req.method === 'GET' && id === undefined) {
      res.json(
        d.silences().map((s) => ({
          id: s.id,
          matchers: s.matchers.map((m) => ({
            name: m.name,
            value: m.value,
            isRegex: m.isRegex ?? false,
            isEqual: m.isEqual ?? true,
          })),
          startsAt: iso(s.startsAt),
          endsAt: iso(s.endsAt),
          createdBy: s.createdBy,
          comment: s.comment,
          status: { state: s.state },
        })),
      );
      return;
    }
    if (req.method === 'DELETE' && id !== undefined) {
      let silenceId: string;
      try {
        silenceId = decodeURIComponent(id);
      } catch {
        return void res.status(400).json({ error: 'malformed percent-encoding in the silence id' });
      }
      if (d.expireSilence(silenceId)) {
        changed();
        res.json({});
      } else res.status(404).json({ error: 'no such active silence' });
      return;
    }
    if (req.method === 'POST' && id === undefined) {
      readJson(req)
        .then((body) => {
          const b = (body ?? {}) as Record<string, unknown>;
          const endsAt = time(b.endsAt);
          const startsAt = time(b.startsAt);
          const silence = d.addSilence({
            matchers: (Array.isArray(b.matchers) ? b.matchers : []) as LabelMatcher[],
            endsAt: endsAt ?? Number.NaN,
            ...(startsAt === undefined ? {} : { startsAt }),
            createdBy: typeof b.createdBy === 'string' ? b.createdBy : '',
            comment: typeof b.comment === 'string' ? b.comment : '',
            ...(typeof b.id === 'string' && b.id !== '' ? { id: b.id } : {}),
          });
          changed();
          res.status(201).json({ silenceID: silence.id });
        })
        .catch((error: unknown) => {
          if (error instanceof ObsConfigError) res.status(400).json({ error: 'invalid silence', issues: error.issues });
          else if (error instanceof ObsError && error.code === 'OBS_ERR_ALERTS_SILENCE_LIMIT')
            res.status(400).json({ error: error.message, code: error.code });
          else if (error instanceof BodyTooLarge)
            res.status(413).set('Connection', 'close').json({ error: 'body too large (at most 64 KiB)' });
          else res.status(400).json({ error: 'body must be JSON (at most 64 KiB)' });
        });
      return;
    }
    res.status(405).set('Allow', 'GET, POST, DELETE').json({ error: 'method not allowed' });
  };
  return { alerts, silences };
}
