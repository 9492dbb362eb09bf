/**
 * The embedded default's keystore: one JSON file under the data directory, mode 0600, written
 * atomically (temp file in the same directory, fsync, then rename, or link for a first save so a
 * concurrent first start cannot overwrite keys already handed out). Node only.
 *
 * One process owns the file: processes sharing it do not see each other's rotations. Several processes
 * (or Workers) should take their keys from configuration instead (./keystore.ts `configKeyStore`).
 */
import { randomBytes } from 'node:crypto'
import { chmod, link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { parseKeySetFile, serializeKeySet, type SigningKeySet } from '../../core/crypto/signing-key-set.ts'
import type { KeyStore } from '../../ports.ts'

/** File name of the key file inside the data directory. */
export const SIGNING_KEY_FILE = 'signing-keys.json'

/** Where the key file of `dataDir` lives. */
export const signingKeyPath = (dataDir: string): string => join(dataDir, SIGNING_KEY_FILE)

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code

const syncDirectory = async (dir: string): Promise<void> => {
  // Makes the rename itself durable; some filesystems refuse to open directories: best effort.
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Safe: the file content is already synced and renamed; only the rename's durability is best effort.
  }
}

/**
 * A keystore in the JSON file at `path` (see {@link signingKeyPath}). `load()` refuses a file that
 * group or others may read, as ssh does, rather than use keys that may have leaked.
 *
 * @example
 * const store = fileKeyStore(signingKeyPath(config.storage.dataDir))
 */
export const fileKeyStore = (path: string): KeyStore => {
  const writeTemp = async (set: SigningKeySet): Promise<string> => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
    const handle = await open(temp, 'wx', 0o600)
    try {
      await handle.writeFile(serializeKeySet(set), 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await chmod(temp, 0o600) // in case a umask-less filesystem ignored the mode
    return temp
  }

  const load = async (): Promise<SigningKeySet | null> => {
    let text: string
    try {
      const info = await stat(path)
      if ((info.mode & 0o077) !== 0) {
        throw new Error(`${path} is readable or writable by group or others: chmod 600 it (or delete it to make new keys)`)
      }
      text = await readFile(path, 'utf8')
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return null
      throw error
    }
    const parsed = parseKeySetFile(text)
    if (!parsed.ok) throw new Error(`${path}: ${parsed.detail}`)
    return parsed.value
  }

  return {
    kind: 'file',
    load,
    async saveIfAbsent(set) {
      const temp = await writeTemp(set)
      try {
        try {
          await link(temp, path) // fails with EEXIST when another writer got there first
        } catch (error) {
          const code = errnoOf(error)
          if (code === 'EEXIST') {
            const existing = await load()
            if (existing === null) throw new Error(`${path} vanished while being created`)
            return existing
          }
          // Filesystems without hard links: check, then rename (a narrow race only two first starts can lose).
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error
          const existing = await load()
          if (existing !== null) return existing
          await rename(temp, path)
        }
        await syncDirectory(dirname(path))
        return set
      } finally {
        // Safe to drop: after a link or a rename the temp name is gone (ENOENT); a leftover .tmp holds no live key.
        await unlink(temp).catch(() => {})
      }
    },
    async save(set) {
      const temp = await writeTemp(set)
      try {
        await rename(temp, path)
      } catch (error) {
        // Safe to drop: the rename's error is the one to report; a leftover .tmp holds no live key.
        await unlink(temp).catch(() => {})
        throw error
      }
      await syncDirectory(dirname(path))
    },
    toJSON: () => ({ kind: 'file', path }),
  } as KeyStore
}
