/**
 * `qrelay`: the server as a package entry. The surface is deliberately small: run the relay on Node
 * (`startNodeServer`), read a configuration from an environment (`parseConfig`), or embed the routes
 * in another host (`compose` builds the services from ports, `createApp` mounts them on Hono). Store
 * adapters stay internal: `startNodeServer` picks them from the configuration. The device SDK is
 * `qrelay/client`.
 *
 * @see ../README.md#use-as-a-package
 */
export { ConfigError, defaultConfig, parseConfig, configTable, type Config } from './config.ts'
export { startNodeServer, type NodeServerOverrides, type RunningServer } from './runtime/node-server.ts'
export { compose, type AccountPorts, type ComposePorts } from './runtime/compose.ts'
/** The built-in list of common passwords, for `AccountPorts.commonPasswords`. */
export { COMMON_PASSWORDS } from './core/auth/common-passwords.ts'
export { createApp, type AppHost } from './http/app.ts'
