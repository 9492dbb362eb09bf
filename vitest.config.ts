import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

// Eight projects: pure unit tests, the pages in Chromium, the lint rules' own test, integration tests through app.request() and real servers, the
// security regression tests (test/security, one file per area), the suites that need a real
// redis-server (started by test/setup/redis.ts when REDIS_URL is not given), the same on a Redis Cluster and behind Sentinel, and the suites that run inside workerd against the Worker and its Durable Objects (wrangler.toml).
export default defineConfig({
  test: {
    globalSetup: ['./test/setup/redis.ts'],
    // Two test files at a time. Vitest's default is one per core less one: a single file at a time on
    // a 2-core CI runner, where most files wait on child processes, Chromium, workerd or Redis and leave
    // the second core idle. The files hold no shared state: servers on free ports, temporary data
    // directories, Redis keys under a prefix of their own.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        // The property tests run hundreds of seeded cases: the timeout guards against a hang, not a
        // slow machine (a loaded 2-core runner takes several seconds for some of them). The unit tests
        // share one module graph (`isolate: false`): they hold no process-wide state (no mocks, no env,
        // fake clocks restored after each test), and importing the source once instead of per file
        // halves the project's time. They pass in shuffled order (`--sequence.shuffle`).
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', testTimeout: 30_000, isolate: false },
      },
      {
        // The boundary rules of biome.jsonc fire on the fixtures of test/lint/fixtures (one Biome run).
        extends: true,
        test: { name: 'lint', include: ['test/lint/**/*.test.ts'], environment: 'node', testTimeout: 20_000, hookTimeout: 20_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/faults/**/*.test.ts', 'test/races/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
          exclude: [
            'test/integration/**/*.redis.test.ts',
            'test/faults/**/*.redis.test.ts',
            'test/races/**/*.redis.test.ts',
            'test/fuzz/**/*.redis.test.ts',
            'test/**/*.cluster.test.ts',
          ],
          setupFiles: ['./test/setup/check-served-fetch.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        // The regression tests of the hardening findings, one file per area (SECURITY.md maps them).
        extends: true,
        test: {
          name: 'security',
          include: ['test/security/**/*.test.ts'],
          exclude: ['test/security/**/*.redis.test.ts'],
          setupFiles: ['./test/setup/check-served-fetch.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'redis',
          include: [
            'test/integration/**/*.redis.test.ts',
            'test/security/**/*.redis.test.ts',
            'test/faults/**/*.redis.test.ts',
            'test/races/**/*.redis.test.ts',
            'test/fuzz/**/*.redis.test.ts',
          ],
          setupFiles: ['./test/setup/check-served-fetch.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // The same suites on a real 3-primary Redis Cluster and a Sentinel failover (test/helpers/redis-cluster.ts).
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/**/*.cluster.test.ts'],
          globalSetup: ['./test/setup/redis-cluster.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The pages in Chromium (playwright-core driving Debian's chromium; skipped without it outside CI).
        extends: true,
        test: { name: 'pages', include: ['test/pages/**/*.test.ts'], environment: 'node', testTimeout: 30_000, hookTimeout: 60_000 },
      },
      {
        plugins: [
          cloudflareTest({
            main: './src/runtime/workers.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                QRELAY_LOG_LEVEL: 'silent',
                QRELAY_PUBLIC_BASE_URL: 'https://relay.example',
                // The account endpoints (test/workers/accounts-http.test.ts): cheap argon2id, registration and admin on.
                QRELAY_ARGON2_MEMORY_KIB: '64',
                QRELAY_ARGON2_ITERATIONS: '1',
                QRELAY_REGISTRATION_ENABLED: 'true',
                QRELAY_ADMIN_TOKEN: 'admin-token-0123456789abcdef0123456789',
                // The QR login on the Worker (test/workers/qr-login-sdk.test.ts): approvers of any age, 1 s polls.
                QRELAY_APPROVER_MIN_AGE_SECONDS: '0',
                QRELAY_POLL_INTERVAL_SECONDS: '1',
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          testTimeout: 20_000,
          globalSetup: ['./test/workers/setup-assets.ts'],
        },
      },
    ],
  },
})
