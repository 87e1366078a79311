export type { ContractCheck, PluginContractOptions } from './contract.ts';
export { pluginContractChecks, testPluginContract } from './contract.ts';
export { testErrorCodes } from './error-codes.ts';
export type { LoopbackServer } from './loopback.ts';
export { isPortOpen, listenLoopback, readBody } from './loopback.ts';
export type { RunningTool } from './tools.ts';
export { debianTool, freePort, PROMQL_TESTDATA_ENV, promqlTestdata, startTool } from './tools.ts';
export type { WaitOptions } from './wait.ts';
export { waitUntil } from './wait.ts';
