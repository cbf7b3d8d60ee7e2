import './fastify-types.js'

export { Type, type Static, type TSchema } from '@sinclair/typebox'
export { defineBlock, type AnyBlock, type BlockDefinition, type LoadContext } from './blocks/define-block.js'
export type { BlockRegistry, BlockState, LoadRetry } from './blocks/registry.js'
export { BlockSummary } from './blocks/routes.js'
export { defineConfig, loadConfigFile, type LoadedConfig, type MlblocksConfig, type PluginEntry } from './config.js'
export * from './errors.js'
export type { BlockAccess, MlblocksDecorator, ReadinessCheck, SecurityScheme } from './fastify-types.js'
export { described, ERROR_MEANINGS } from './docs.js'
export { errorBody } from './http/error-handler.js'
export { enabledPlugins, pluginEnvName, type EnabledPlugin, type PluginOverrides } from './plugins/load-plugins.js'
export { createServer, type CreateServerOptions } from './server.js'
export {
  readSettings,
  Setting,
  SettingError,
  settingNames,
  settingsSchema,
  settingsTable,
  tableMarkers,
  withSettingsTable,
  type ReadOptions,
  type SettingsDeclaration,
  type SettingsOf,
} from './define-settings.js'
export { envBoolean, resolveServerSettings, serverDefaults, serverSettingsDeclaration, type Env, type LogFormat, type LogLevel, type ServerConfig, type ServerSettings } from './settings.js'
export { closeOnSignals, type ShutdownOptions } from './shutdown.js'
