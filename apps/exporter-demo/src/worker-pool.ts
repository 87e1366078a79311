/** Runs `work` over `items` with at most `size` at once, reporting how many are busy. */
export async function runPool<T, R>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<R>,
  onActive: (active: number) => void,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  let active = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      onActive(++active);
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      } finally {
        onActive(--active);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}
