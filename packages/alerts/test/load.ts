// The alerts tests load series with the engine's own test loader.
export { load } from '../../promql/test/load.ts';
