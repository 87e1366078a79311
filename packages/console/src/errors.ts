import type { ObsErrorCode } from '@obs/core';

/** Every error code that `@obs/console` throws or reports, with what it means (kept in step with docs/errors.md). */
export const consoleErrorCodes: Readonly<Record<ObsErrorCode, string>> = Object.freeze({
  OBS_ERR_CONSOLE_ASSETS_MISSING:
    'The built page (dist/assets) is missing from the installed package; thrown by start(). Reinstall the package, or build it in a checkout.',
});
