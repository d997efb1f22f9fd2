/**
 * The fish completion script, generated from the command manifest (oclif's Command.Loadable data:
 * ids, summaries, flags, arguments). @oclif/plugin-autocomplete makes the bash and zsh scripts; it
 * has no fish.
 */
export interface CompletionCommand {
  id: string
  summary?: string
  description?: string
  hidden?: boolean
  aliases?: string[]
  flags: Record<
    string,
    {type: 'boolean' | 'option'; char?: string; summary?: string; description?: string; hidden?: boolean; allowNo?: boolean; options?: readonly string[]; helpValue?: string | string[]}
  >
  args?: Record<string, {options?: readonly string[]}>
}

export interface CompletionTopic {
  name: string
  description?: string
  hidden?: boolean
}

/** A fish single-quoted string. */
function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n', 1)[0]!.trim()
}

export function fishCompletion(bin: string, commands: readonly CompletionCommand[], topics: readonly CompletionTopic[], separator = ' '): string {
  const fn = `__${bin.replace(/[^A-Za-z0-9_]/g, '_')}`
  const lines = [
    `# fish completion for ${bin}, generated from its command manifest.`,
    `# Load it now:   ${bin} completion fish | source`,
    `# For good:      ${bin} completion fish > ~/.config/fish/completions/${bin}.fish`,
    '',
    `# The words typed after ${bin}, without options and the value of the option before.`,
    `function ${fn}_words`,
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    '    for word in $words',
    "        string match -q -- '-*' $word; or echo $word",
    '    end',
    'end',
    '',
    '# True when the words typed so far are exactly the arguments (the next word is a subcommand).',
    `function ${fn}_at`,
    `    set -l words (${fn}_words)`,
    '    test "$words" = "$argv"',
    'end',
    '',
    '# True when the words typed so far start with the arguments (inside that command).',
    `function ${fn}_in`,
    `    set -l words (${fn}_words)`,
    '    set -l n (count $argv)',
    '    test (count $words) -ge $n; and test "$words[1..$n]" = "$argv"',
    'end',
    '',
    `complete -c ${bin} -e`,
    `complete -c ${bin} -f`,
  ]
  const visible = commands.filter((c) => !c.hidden)
  // Every subcommand and topic, offered at the level of its parent.
  const children = new Map<string, Map<string, string>>()
  const offer = (path: string[], description: string): void => {
    const parent = path.slice(0, -1).join(' ')
    const name = path.at(-1)!
    if (!children.has(parent)) children.set(parent, new Map())
    const level = children.get(parent)!
    if (!level.has(name) || (description && !level.get(name))) level.set(name, description)
  }
  for (const topic of topics.filter((t) => !t.hidden)) offer(topic.name.split(':'), firstLine(topic.description))
  for (const command of visible) {
    for (const id of [command.id, ...(command.aliases ?? [])]) {
      const path = id.split(':')
      for (let i = 1; i < path.length; i++) offer(path.slice(0, i), '')
      offer(path, firstLine(command.summary ?? command.description))
    }
  }
  lines.push('', '# Commands and topics')
  for (const [parent, level] of [...children.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [name, description] of [...level.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`complete -c ${bin} -n ${quote(`${fn}_at${parent ? ` ${parent}` : ''}`)} -a ${quote(name)}${description ? ` -d ${quote(description)}` : ''}`)
    }
  }
  for (const command of visible) {
    const path = command.id.split(':').join(' ')
    const inside = quote(`${fn}_in ${path}`)
    lines.push('', `# ${bin} ${command.id.split(':').join(separator)}`)
    for (const arg of Object.values(command.args ?? {})) {
      if (arg.options?.length) lines.push(`complete -c ${bin} -n ${quote(`${fn}_at ${path}`)} -a ${quote(arg.options.join(' '))}`)
    }
    for (const [name, flag] of Object.entries(command.flags).sort(([a], [b]) => a.localeCompare(b))) {
      if (flag.hidden) continue
      const description = firstLine(flag.summary ?? flag.description)
      const parts = [`complete -c ${bin} -n ${inside}`]
      if (flag.char) parts.push(`-s ${flag.char}`)
      parts.push(`-l ${name}`)
      if (flag.type === 'option') {
        const value = Array.isArray(flag.helpValue) ? flag.helpValue.join(' ') : (flag.helpValue ?? '')
        if (flag.options?.length) parts.push(`-x -a ${quote(flag.options.join(' '))}`)
        else if (/FILE|DIR|PATH/.test(value)) parts.push('-rF')
        else parts.push('-x')
      }
      if (description) parts.push(`-d ${quote(description)}`)
      lines.push(parts.join(' '))
      if (flag.type === 'boolean' && flag.allowNo) lines.push(`complete -c ${bin} -n ${inside} -l no-${name}${description ? ` -d ${quote(`Not: ${description}`)}` : ''}`)
    }
    lines.push(`complete -c ${bin} -n ${inside} -s h -l help -d 'Show help for the command'`)
  }
  return `${lines.join('\n')}\n`
}
