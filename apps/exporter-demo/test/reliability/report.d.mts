// Types of report.mjs (a plain node script, so that `reliability:report` needs no TypeScript loader).
/** One figure as compact text. */
export function show(value: unknown): string;
/** The figures section of docs/reliability.md, from the JSON files in `dir`. */
export function render(dir?: string): string;
/** `text` with its figures section replaced by `section`. */
export function splice(text: string, section: string): string;
