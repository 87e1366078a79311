// pnpm bench: @obs/core's hot paths, each against its baseline, measured in the same run.
import { EventEmitter } from 'node:events';
import { type BenchCase, runBenchmarks } from '@obs/testing/bench';
import { createEventBus, createMonitor, silentLogger } from '../src/index.ts';

let sink = 0;
const payload = { active: 3 };

function emitCase(listeners: number): BenchCase {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(100);
  const bus = createEventBus();
  for (let i = 0; i < listeners; i++) {
    emitter.on('workers:changed', (e: { active: number }) => {
      sink += e.active;
    });
    bus.on('workers:changed', (e) => {
      sink += e.active;
    });
  }
  return {
    name: `bus.emit, ${listeners} listener${listeners === 1 ? '' : 's'}`,
    baseline: {
      name: 'EventEmitter',
      run(n) {
        for (let i = 0; i < n; i++) emitter.emit('workers:changed', payload);
      },
    },
    candidate: {
      name: '@obs bus',
      run(n) {
        for (let i = 0; i < n; i++) bus.emit('workers:changed', payload);
      },
    },
    maxRatio: 1,
    teardown: () => {
      if (sink < 0) console.log(sink);
    },
  };
}

function noop(_endpoint: string, _status: number, _ms: number): void {}

await runBenchmarks('@obs/core', {
  'monitor.recordApiCall, no plugins': async () => {
    const monitor = await createMonitor({ logger: silentLogger }).start();
    return {
      name: 'monitor.recordApiCall, no plugins',
      baseline: {
        name: 'empty function',
        run(n) {
          for (let i = 0; i < n; i++) noop('watched_movies', 200, i);
        },
      },
      candidate: {
        name: 'recordApiCall',
        run(n) {
          for (let i = 0; i < n; i++) monitor.recordApiCall('watched_movies', 200, i);
        },
      },
      // Both sides inline to almost nothing; a recorder that stops inlining shows up as 10x or more.
      maxRatio: 2,
      teardown: () => monitor.stop(),
    };
  },
  'bus.emit, 0 listeners': () => emitCase(0),
  'bus.emit, 1 listener': () => emitCase(1),
  'bus.emit, 10 listeners': () => emitCase(10),
});
