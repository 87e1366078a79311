// The embedded default channel: notifications as log lines.
import type { ObsLogger } from '@obs/core';
import { describeAlert, type NotificationChannel, notificationTitle } from '../notification.ts';

/** Options of {@link createLogChannel}. */
export interface LogChannelOptions {
  /** Where lines go; firing alerts at `warn`, resolved ones at `info`. */
  readonly logger: Pick<ObsLogger, 'info' | 'warn'>;
  /** @default "log" */
  readonly name?: string;
}

/** The embedded default channel: one log line per notification, one field per alert. */
export function createLogChannel(options: LogChannelOptions): NotificationChannel {
  const { logger } = options;
  return {
    name: options.name ?? 'log',
    async send(n) {
      const fields = { receiver: n.receiver, groupKey: n.groupKey, alerts: n.alerts.map(describeAlert) };
      // Alertmanager's subject, without the trailing space it has when no label is left for the parentheses.
      const title = notificationTitle(n).trimEnd();
      if (n.status === 'firing') logger.warn(title, fields);
      else logger.info(title, fields);
    },
  };
}
