import { memoryStore } from '../../../src/adapters/storage/memory.ts'
import { describeEphemeralStore } from './conformance.ts'

describeEphemeralStore('memory', (clock) => memoryStore({ clock, sweepIntervalMs: 0 }))
