/** The hour of the day (0-23) in an IANA time zone, or null for a zone Intl does not know. */
export function hourIn(timeZone: string): ((at: number) => number) | null {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' });
  } catch {
    return null;
  }
  return (at) => Number(format.format(at));
}
