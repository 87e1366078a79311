export type { ContractCheck, PluginContractOptions } from './contract.ts';
export { pluginContractChecks, testPluginContract } from './contract.ts';
export type { LoopbackServer } from './loopback.ts';
export { isPortOpen, listenLoopback, readBody } from './loopback.ts';
