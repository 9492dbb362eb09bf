/** Global setup of the `workers` project: the Worker's `[assets]` directory (the page script) exists before workerd starts. */
import { buildWorkerAssets } from '../../scripts/worker-assets.ts'

export default async (): Promise<void> => {
  await buildWorkerAssets()
}
