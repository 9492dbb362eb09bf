/**
 * Preloaded into a qrelay process by the process-faults test (`node --import tsx --import
 * ./test/helpers/fault-trigger.ts src/runtime/node.ts`): on SIGUSR2 it raises the fault `FAULT_TRIGGER`
 * names, from a timer as a library callback would: `throw` (an uncaught exception) or `reject` (an
 * unhandled rejection). Its message stands for a secret that must not reach a log.
 */
export const FAULT_MESSAGE = 'fault quoting qrt_NOT_FOR_LOGS'

process.on('SIGUSR2', () => {
  setTimeout(() => {
    if (process.env.FAULT_TRIGGER === 'reject') void Promise.reject(new Error(FAULT_MESSAGE))
    else throw new Error(FAULT_MESSAGE)
  }, 0)
})
