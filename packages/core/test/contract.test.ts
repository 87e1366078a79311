import { pluginContractChecks, testPluginContract } from '@obs/testing';
import { describe, expect, test } from 'vitest';
import type { ObsPlugin } from '../src/index.ts';

// A well-behaved plugin: wiring in setup, a route and a timer opened in start and closed in stop.
function tidyPlugin(): ObsPlugin {
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'tidy',
    setup(ctx) {
      ctx.endpoints.mount('metrics', '/tidy', (_req, res) => void res.end('ok'));
      ctx.bus.on('workers:changed', () => {});
    },
    async start() {
      timer = setInterval(() => {}, 1_000);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

testPluginContract(tidyPlugin, { listeners: ['metrics'] });

describe('the contract suite catches broken plugins', () => {
  const check = (name: string) => pluginContractChecks.find((c) => c.name.startsWith(name))!;

  test('a timer left running after stop', async () => {
    const timers: NodeJS.Timeout[] = [];
    const leaky = (): ObsPlugin => ({
      name: 'leaky',
      setup() {},
      async start() {
        timers.push(setInterval(() => {}, 1_000));
      },
    });
    try {
      await expect(check('frees its ports').run(leaky)).rejects.toThrow(/still open: 1 Timeout/);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  test('I/O in setup', async () => {
    const eager = (): ObsPlugin => {
      let timer: NodeJS.Timeout | undefined;
      return {
        name: 'eager',
        setup() {
          timer = setTimeout(() => {}, 5_000);
        },
        async stop() {
          clearTimeout(timer);
        },
      };
    };
    await expect(check('setup does no I/O').run(eager)).rejects.toThrow(/setup\(\) opened 1 Timeout/);
  });

  test('a stop that fails when called twice', async () => {
    const once = (): ObsPlugin => {
      let stopped = false;
      return {
        name: 'once',
        setup() {},
        async stop() {
          if (stopped) throw new Error('already stopped');
          stopped = true;
        },
      };
    };
    await expect(check('stop is idempotent').run(once)).rejects.toThrow('already stopped');
  });
});
