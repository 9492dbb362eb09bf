/**
 * `GET /.well-known/oauth-authorization-server`: the server metadata (RFC 8414) that tells a client
 * where the token, device-authorization and key endpoints are and which DPoP algorithms we accept.
 * Only endpoints this app really serves are advertised: a client that trusts the document must never
 * be sent to a 404.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-4
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5.1
 */
import type { Handler } from 'hono'
import { DPOP_ALGORITHMS } from '../../services/dpop.ts'
import type { AppEnv } from '../context.ts'

/** The RFC 8628 grant type. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code'

/** Which OAuth endpoints the app serves; each one absent is left out of the document. */
export interface OAuthEndpoints {
  /** The public base URL, or undefined to use each request's origin. */
  publicBaseUrl: string | undefined
  /** `POST /oauth2/token` exists (refresh tokens). */
  token: boolean
  /** `POST /oauth2/device_authorization` exists and the token endpoint takes device codes. */
  deviceAuthorization: boolean
  /** `GET /oauth2/jwks` exists. */
  jwks: boolean
  introspection: boolean
  revocation: boolean
}

/** Builds the metadata document for one issuer (the base URL, without a trailing slash). */
export const oauthMetadata = (issuer: string, endpoints: OAuthEndpoints): Record<string, unknown> => {
  const grantTypes: string[] = []
  if (endpoints.deviceAuthorization) grantTypes.push(DEVICE_CODE_GRANT_TYPE)
  if (endpoints.token) grantTypes.push('refresh_token')
  return {
    issuer,
    ...(endpoints.token ? { token_endpoint: `${issuer}/oauth2/token` } : {}),
    ...(endpoints.deviceAuthorization ? { device_authorization_endpoint: `${issuer}/oauth2/device_authorization` } : {}),
    ...(endpoints.jwks ? { jwks_uri: `${issuer}/oauth2/jwks` } : {}),
    ...(endpoints.introspection
      ? {
          introspection_endpoint: `${issuer}/oauth2/introspect`,
          introspection_endpoint_auth_methods_supported: ['client_secret_basic'],
        }
      : {}),
    ...(endpoints.revocation
      ? { revocation_endpoint: `${issuer}/oauth2/revoke`, revocation_endpoint_auth_methods_supported: ['none'] }
      : {}),
    // No authorization endpoint: no response type is served (the member is required, hence empty).
    response_types_supported: [],
    grant_types_supported: grantTypes,
    // Public clients: the new device holds no secret; DPoP binds its tokens instead.
    token_endpoint_auth_methods_supported: ['none'],
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    // qrelay extension (no registered member exists): the device authorization endpoint takes a
    // `dpop_jkt` parameter instead of a proof (RFC 9449 §10 semantics) for standard clients.
    ...(endpoints.deviceAuthorization ? { device_authorization_dpop_jkt_supported: true } : {}),
  }
}

/**
 * The handler.
 *
 * @example
 * app.get('/.well-known/oauth-authorization-server', oauthMetadataRoute({ publicBaseUrl, token: true, … }))
 */
export const oauthMetadataRoute =
  (endpoints: OAuthEndpoints): Handler<AppEnv> =>
  (c) =>
    c.json(oauthMetadata(endpoints.publicBaseUrl ?? new URL(c.req.url).origin, endpoints), 200, {
      'Cache-Control': 'public, max-age=300',
      'Access-Control-Allow-Origin': '*',
    })
