import { type CoreErrorCode, ObsError } from '@obs/core';

/** The codes `@obs/console` throws or reports: a closed union, so a misspelt code does not compile. */
export type ConsoleErrorCode = 'OBS_ERR_CONSOLE_ASSETS_MISSING';

/** Every error code that `@obs/console` throws or reports, with what it means (kept in step with docs/errors.md). */
export const consoleErrorCodes: Readonly<Record<ConsoleErrorCode, string>> = Object.freeze({
  OBS_ERR_CONSOLE_ASSETS_MISSING:
    'The built page (dist/assets) is missing from the installed package; thrown by start(). Reinstall the package, or build it in a checkout.',
});

/** @internal An `ObsError` with one of this package's codes: throw sites use it, so a misspelt code does not compile. */
export function consoleError(
  code: ConsoleErrorCode | CoreErrorCode,
  message: string,
  options?: ErrorOptions,
): ObsError {
  return new ObsError(code, message, options);
}
