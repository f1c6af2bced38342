/**
 * The configuration: one table of settings (settings.ts), the kinds that parse them (kinds.ts), and the reader
 * that turns an environment into a checked `Config` (read.ts).
 */
export { ConfigError } from './kinds.js';
export type { RateWindow, Token } from './kinds.js';
export type { OAuthConfig } from './oauth.js';
export { readConfig } from './read.js';
export type { Config, TlsConfig } from './read.js';
export type { MetricsConfig, TracingConfig } from './observability.js';
export { MIN_COOKIE_SECRET_LENGTH, SETTINGS, describeSetting } from './settings.js';
export type { Setting, SettingName } from './settings.js';
