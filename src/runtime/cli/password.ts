/** Reads a password for the CLI: from stdin (`--password-stdin`) or prompted twice without echo. */
import { createInterface } from 'node:readline'
import { CliExit } from './exit.ts'

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '')
}

const prompt = (question: string): Promise<string> =>
  new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
    const muted = rl as unknown as { _writeToOutput: (s: string) => void }
    process.stderr.write(question)
    muted._writeToOutput = () => {}
    rl.question('', (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    })
  })

/** The password the operator gives. */
export const readPassword = async (fromStdin: boolean): Promise<string> => {
  if (fromStdin) return readStdin()
  if (!process.stdin.isTTY) throw new CliExit(2, 'no terminal to prompt on: use --password-stdin')
  const first = await prompt('Password: ')
  const second = await prompt('Repeat password: ')
  if (first !== second) throw new CliExit(1, 'the passwords differ')
  return first
}
