// The hub's public names: embed the HTTP API in a process of your own, or run it as `spawnkeeper serve`.
export type { Hub, HubOptions } from './hub.js';
export { createHub, VERSION } from './hub.js';
export type { RunningHub, StartOptions } from './serve.js';
export { startHub } from './serve.js';
export type { HubConfig, SimSettings, Setting } from './settings.js';
export { DEFAULT_HUB_CONFIG, SETTINGS } from './settings.js';
export { ConfigError, parseArgs, resolveConfig } from './config.js';
export type { HealthReport } from './api/health.js';
export { createLogger, REDACT_PATHS } from './log.js';
export { main, run } from './cli/cli.js';
export { SCOPE_TREE, ADMIN_SCOPES, Grants } from './auth/scopes.js';
export type { TokenModel } from './auth/tokens.js';
export { TokenStore, hashToken } from './auth/tokens.js';
export { JUPYTERHUB_API_VERSION } from './api/hub.js';
