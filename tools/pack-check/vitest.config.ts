// Installs from the registry: generous timeouts.
import { obsVitestConfig } from '../../vitest.shared.ts';

export default obsVitestConfig({ sources: false, timeoutMs: 180_000 });
