/**
 * The Node store of a generated sealing keyring (`./sealing-keys.ts`): `<data dir>/secrets-keys`,
 * mode 0600, created once (temp file, fsync, then link, so two first starts end up with one key).
 * `load()` refuses a file that group or others may read, as the signing-key file does.
 */
import { randomBytes } from 'node:crypto'
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { SealingKeyStore } from './sealing-keys.ts'

/** File name of the keyring inside the data directory. */
export const SEALING_KEY_FILE = 'secrets-keys'

/** Where the keyring file of `dataDir` lives. */
export const sealingKeyPath = (dataDir: string): string => join(dataDir, SEALING_KEY_FILE)

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code

/**
 * A keyring store in the file at `path` (see {@link sealingKeyPath}).
 *
 * @example
 * const store = fileSealingKeyStore(sealingKeyPath(config.storage.dataDir))
 */
export const fileSealingKeyStore = (path: string): SealingKeyStore => {
  const load = async (): Promise<string | null> => {
    try {
      const info = await stat(path)
      if ((info.mode & 0o077) !== 0) {
        throw new Error(`${path} is readable or writable by group or others: chmod 600 it`)
      }
      return await readFile(path, 'utf8')
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null
      throw error
    }
  }
  return {
    load,
    async saveIfAbsent(text) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
      const handle = await open(temp, 'wx', 0o600)
      try {
        await handle.writeFile(`${text}\n`, 'utf8')
        await handle.sync()
      } finally {
        await handle.close()
      }
      try {
        await chmod(temp, 0o600)
        await link(temp, path) // EEXIST: another start got there first; its key wins
      } catch (error) {
        if (errnoOf(error) !== 'EEXIST') throw error
      } finally {
        // Safe to drop: the key is linked (or lost to another start) already; a leftover .tmp is only clutter.
        await unlink(temp).catch(() => {})
      }
      const stored = await load()
      if (stored === null) throw new Error(`${path} vanished while being created`)
      return stored
    },
  }
}
