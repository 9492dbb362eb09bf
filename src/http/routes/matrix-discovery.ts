/**
 * Matrix client discovery: `GET /_matrix/client/versions` advertising the rendezvous features that are
 * enabled. matrix-js-sdk only uses a server's rendezvous endpoint when `org.matrix.msc4108` is
 * advertised; a homeserver that proxies the rendezvous paths to qrelay should merge these flags into
 * its own answer.
 *
 * @see https://github.com/matrix-org/matrix-spec-proposals/pull/4108 (clients check /versions for the unstable feature)
 */
import type { Handler } from 'hono'
import type { Config } from '../../config.ts'
import type { AppEnv } from '../context.ts'

/** Spec versions whose client-server API shape the rendezvous endpoints follow. */
const VERSIONS = ['v1.11', 'v1.12', 'v1.13', 'v1.14', 'v1.15', 'v1.16'] as const

/** Handler of `GET /_matrix/client/versions`. */
export const matrixVersions = (rendezvous: Config['rendezvous']): Handler<AppEnv> => {
  const body = {
    versions: VERSIONS,
    unstable_features: {
      'org.matrix.msc4108': rendezvous.msc4108Enabled,
      'io.element.msc4388': rendezvous.msc4388Enabled,
    },
  }
  return (c) => c.json(body, 200, { 'Cache-Control': 'public, max-age=300', 'Access-Control-Allow-Origin': '*' })
}
