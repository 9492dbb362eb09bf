import { defineConfig } from 'vitest/config'

// Three projects: pure unit tests, integration tests through app.request() and real servers, and the
// suites that need a real redis-server (started by test/setup/redis.ts when REDIS_URL is not given).
export default defineConfig({
  test: {
    globalSetup: ['./test/setup/redis.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: ['test/integration/**/*.redis.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'redis',
          include: ['test/integration/**/*.redis.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
})
