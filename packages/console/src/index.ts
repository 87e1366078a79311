export type { ConsoleErrorCode } from './errors.ts';
export { consoleErrorCodes } from './errors.ts';
export type { ConsolePluginOptions, ResolvedConsoleOptions } from './options.ts';
export { resolveConsoleOptions } from './options.ts';
export type { ConsolePlugin, ConsoleSettings } from './plugin.ts';
export { consolePlugin } from './plugin.ts';
