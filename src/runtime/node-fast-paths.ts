/**
 * The node:http fast paths served in front of the Hono app on Node: the MSC4388 channel routes
 * (`node-fast-path.ts`) and the OAuth token and device-authorization endpoints (`node-fast-oauth.ts`).
 * Each answers what it recognises exactly as the app would and leaves everything else to the app.
 */
import type { Services } from '../services/services.ts'
import { chainFastPaths, oauthFastPath } from './node-fast-oauth.ts'
import { type FastPath, type FastPathHost, rendezvousFastPath } from './node-fast-path.ts'

/** Every fast path this deployment can use, tried in turn (undefined when none applies). */
export const nodeFastPaths = (services: Services, host: FastPathHost): FastPath | undefined =>
  chainFastPaths(rendezvousFastPath(services, host), oauthFastPath(services, host))
