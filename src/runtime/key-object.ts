/**
 * The Durable Object holding the channel-ticket signing keys (named `signing-keys`), as the serialized
 * key-set text of `serializeKeySet`, in the object's synchronous KV storage. Each method is one atomic
 * intent, so of two isolates starting together the first `saveIfAbsent` wins and both use its keys.
 * The private keys are stored as the Node data-directory file holds them: only this Worker's code can
 * reach the object (it has no fetch handler), and nothing here logs them.
 */
import { DurableObject } from 'cloudflare:workers'
import type { KeyObjectApi } from '../adapters/keys/durable-object-keystore.ts'

const KEY = 'signing-keys'

/** The signing key set of a deployment. */
export class KeyObject extends DurableObject<Env> implements KeyObjectApi {
  async load(): Promise<string | null> {
    return this.ctx.storage.kv.get<string>(KEY) ?? null
  }

  async saveIfAbsent(text: string): Promise<string> {
    const stored = this.ctx.storage.kv.get<string>(KEY)
    if (stored !== undefined) return stored
    this.ctx.storage.kv.put(KEY, text)
    return text
  }

  async save(text: string): Promise<void> {
    this.ctx.storage.kv.put(KEY, text)
  }
}
