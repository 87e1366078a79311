// The demo runs against the built packages (dist/), as a user's app would: no @obs/source condition.
import { obsVitestConfig } from '../../vitest.shared.ts';

export default obsVitestConfig({ sources: false, timeoutMs: 30_000 });
