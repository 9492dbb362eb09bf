import { memoryDurableStore } from '../../../src/adapters/durable/memory.ts'
import { describeDurableStore } from './conformance.ts'

describeDurableStore('memory', (clock) => memoryDurableStore({ clock }))
