/**
 * `qrelay/client`: the device SDK as a package entry (README.md "Device SDK", docs/qr-login.md).
 * Runs in Node, browsers and Workers (no `node:` imports).
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108
 */
export * from './devices.ts'
export { ClientError, isClientError, asClientError, type ClientErrorCode } from './errors.ts'
export { submitInitiationCode, type InitiationCodeOptions, type InitiationCodeResult } from './initiation-code.ts'
